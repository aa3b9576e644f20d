//! `firedrill fit`: flags into settings, the source read, the fit run, the drill written
//! whole (or not at all) and the goodness report printed. The fitting is [`crate::fit`]'s;
//! this file only reads the wall clock for `--prometheus`'s default range.

use std::path::Path;

use super::{AppError, Exit, check_outputs, write_output, write_stdout};
use crate::cli::FitArgs;
use crate::export::time::{format_rfc3339_ms, parse_rfc3339_ms};
use crate::fit::{self, FitError, source};

#[allow(clippy::needless_pass_by_value)] // used as `map_err(failed)`
fn failed(e: FitError) -> AppError {
    AppError::Io(format!("fit: {e}"))
}

fn acquire_timeouts(given: &[String]) -> Result<Vec<(String, f64)>, AppError> {
    given
        .iter()
        .map(|g| {
            let bad = |why: String| {
                AppError::Io(format!(
                    "--acquire-timeout {g}: {why}; write POOL=DURATION, e.g. db=2s"
                ))
            };
            let (pool, d) = g.split_once('=').ok_or_else(|| bad("no `=`".into()))?;
            let d = crate::drill::Duration::parse(d.trim()).map_err(|e| bad(e.to_string()))?;
            if d.is_zero() {
                return Err(bad("the timeout must be above zero".into()));
            }
            Ok((pool.trim().to_owned(), d.as_secs_f64()))
        })
        .collect()
}

pub(super) fn fit(args: &FitArgs) -> Result<Exit, AppError> {
    if args.print_map {
        let text = fit::map::print();
        if let Some(out) = &args.output {
            check_outputs(Some(out), "-o", &[], &[], args.force)?;
            write_output(out, &text)?;
            eprintln!(
                "wrote {0}\nnext: point each query at your own series, then `firedrill fit --map {0} --prometheus URL`",
                out.display()
            );
            return Ok(Exit::Ok);
        }
        return write_stdout(&text);
    }
    let map = match &args.map {
        Some(path) => fit::map::Map::load(path).map_err(failed)?,
        None => fit::map::Map::default(),
    };
    let time = |t: &Option<String>, flag: &str| -> Result<Option<i64>, AppError> {
        t.as_deref()
            .map(|t| parse_rfc3339_ms(t).map_err(|e| AppError::Io(format!("{flag}: {e}"))))
            .transpose()
    };
    let (start, end) = (time(&args.start, "--start")?, time(&args.end, "--end")?);
    if let (Some(s), Some(e)) = (start, end)
        && e <= s
    {
        return Err(AppError::Io(format!(
            "--end {} is not after --start {}",
            format_rfc3339_ms(e),
            format_rfc3339_ms(s)
        )));
    }
    let rules = args
        .rules
        .as_ref()
        .map(|path| {
            crate::files::read_text_limited(path, fit::rules::RULES_LIMIT, "rules file")
                .map(|text| (path.display().to_string(), text))
                .map_err(|e| AppError::Io(format!("fit: --rules: {e}")))
        })
        .transpose()?;
    let settings = fit::Settings {
        service: args.service.clone(),
        acquire_timeouts: acquire_timeouts(&args.acquire_timeout)?,
        rules,
    };
    let inputs: Vec<&Path> = args
        .openmetrics
        .iter()
        .chain(&args.rules)
        .chain(&args.map)
        .map(std::path::PathBuf::as_path)
        .collect();
    check_outputs(args.output.as_deref(), "-o", &[], &inputs, args.force)?;
    let (mut data, name) = if let Some(url) = &args.prometheus {
        let server = source::Server::parse(url).map_err(failed)?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let end = end.unwrap_or(now);
        let start = start.unwrap_or(end - 86_400_000);
        if let Some(dir) = &args.save_queries
            && !dir.is_dir()
        {
            return Err(AppError::Io(format!(
                "--save-queries {}: not a directory; create it first",
                dir.display()
            )));
        }
        let data = source::prometheus(&server, start, end, args.save_queries.as_deref(), &map)
            .map_err(failed)?;
        (data, format!("Prometheus at {url}"))
    } else if let Some(path) = &args.openmetrics {
        (
            map.select(&source::openmetrics(path).map_err(failed)?)
                .map_err(failed)?,
            path.display().to_string(),
        )
    } else if let Some(dir) = &args.query_json {
        (
            source::query_json(dir, &map).map_err(failed)?,
            format!("the query_range answers in {}", dir.display()),
        )
    } else {
        return Err(AppError::Io(
            "fit needs --prometheus, --openmetrics or --query-json".into(),
        ));
    };
    if start.is_some() || end.is_some() {
        data.clip(start.unwrap_or(i64::MIN), end.unwrap_or(i64::MAX));
    }
    let outcome = fit::fit(&data, &name, &settings).map_err(failed)?;
    eprint!("{}", outcome.goodness.text());
    if let Some(rules) = &outcome.fitted.rules {
        eprintln!(
            "{}: {} alerting rule(s) became drill alerts; {} left out",
            rules.file,
            rules.alerts.len(),
            rules.left_out.len()
        );
        for left in &rules.left_out {
            eprintln!("  left out {}: {}", left.name, left.reason);
        }
    }
    let marked = outcome.goodness.rows.iter().filter(|r| r.marked).count();
    if marked > 0 {
        eprintln!(
            "{marked} quantit{} beyond 10 %: see the drill's comments for what telemetry cannot show",
            if marked == 1 { "y" } else { "ies" }
        );
    }
    if let Some(out) = &args.output {
        write_output(out, &outcome.text)?;
        eprintln!(
            "wrote {0}\nnext: replace its incident (faults, alerts, roles) with yours, then `firedrill check {0}` and `firedrill calibrate {0}`",
            out.display()
        );
    }
    if args.json {
        return write_stdout(&super::to_json(&outcome));
    }
    if args.output.is_none() {
        return write_stdout(&outcome.text);
    }
    Ok(Exit::Ok)
}

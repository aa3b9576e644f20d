//! Joins the JSON reports of the shards of one calibration (`--shard 1/N` ... `N/N`) into the
//! report one unsharded run would have printed, byte for byte but for `wall_seconds` (the sum
//! of the shards'). Each shard carries its seeds' raw records, so the merge recomputes every
//! statistic exactly; it refuses shards of different drills, versions of a drill, seed ranges
//! or shard counts, and a set with a shard missing or given twice.

use super::report::{Calibration, FORMAT};
use super::{CalibrateError, Shard};

/// Reads one shard's JSON; `label` (its file name) goes into error messages.
pub fn parse(label: &str, text: &str) -> Result<Calibration, CalibrateError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        CalibrateError::Merge(format!(
            "{label} is not JSON ({e}); merge the files `calibrate --json` wrote"
        ))
    })?;
    match value
        .get("calibration_format")
        .and_then(serde_json::Value::as_u64)
    {
        Some(v) if v == u64::from(FORMAT) => {}
        Some(v) => {
            return Err(CalibrateError::Merge(format!(
                "{label} has calibration format {v}; this firedrill reads format {FORMAT}"
            )));
        }
        None => {
            return Err(CalibrateError::Merge(format!(
                "{label} is not a calibration report (no `calibration_format`); merge the files \
                 `calibrate --json` wrote"
            )));
        }
    }
    if let Some(problem) = absurd_number(&value, "") {
        return Err(CalibrateError::Merge(format!(
            "{label}: {problem}; merge the files `calibrate --json` wrote, unedited"
        )));
    }
    serde_json::from_value(value).map_err(|e| {
        CalibrateError::Merge(format!("{label} is not a complete calibration report: {e}"))
    })
}

/// The largest magnitude a fractional value in a calibration report can have (seconds,
/// ratios, counts of requests in one run); integers (seeds) are not bounded here.
const MAX_REPORT_VALUE: f64 = 1e12;

/// The first value no calibration could have written: a negative `wall_seconds`, or a
/// fractional number beyond [`MAX_REPORT_VALUE`]; `at` is its JSON path.
fn absurd_number(value: &serde_json::Value, at: &str) -> Option<String> {
    match value {
        serde_json::Value::Number(n) if n.as_u64().is_none() && n.as_i64().is_none() => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            let negative_wall = at.ends_with("wall_seconds") && x < 0.0;
            (!x.is_finite() || x.abs() > MAX_REPORT_VALUE || negative_wall)
                .then(|| format!("`{at}` is {x}, which no calibration writes"))
        }
        serde_json::Value::Number(n)
            if at.ends_with("wall_seconds") && n.as_i64().is_some_and(|i| i < 0) =>
        {
            Some(format!("`{at}` is {n}, which no calibration writes"))
        }
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| absurd_number(v, &format!("{at}[{i}]"))),
        serde_json::Value::Object(fields) => fields.iter().find_map(|(k, v)| {
            absurd_number(
                v,
                &if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                },
            )
        }),
        _ => None,
    }
}

/// Merges the shards (`(label, report)`) into one unsharded report.
pub fn merge(parts: Vec<(String, Calibration)>) -> Result<Calibration, CalibrateError> {
    let err = |m: String| Err(CalibrateError::Merge(m));
    let Some((first_label, first)) = parts.first() else {
        return err("--merge needs at least one file".to_owned());
    };
    let (drill, plan) = (first.drill.clone(), first.plan);
    for (label, part) in &parts[1..] {
        if part.drill.sha256 != drill.sha256 {
            return err(format!(
                "{label} calibrates drill {} (sha256 {}) but {first_label} calibrates drill {} \
                 (sha256 {}): shards must come from the same drill file",
                part.drill.name,
                short(&part.drill.sha256),
                drill.name,
                short(&drill.sha256)
            ));
        }
        if (part.plan.runs, part.plan.seed_start, part.plan.shard.count)
            != (plan.runs, plan.seed_start, plan.shard.count)
        {
            return err(format!(
                "{label} ran --runs {} --seed-start {} --shard {} but {first_label} ran --runs {} \
                 --seed-start {} --shard {}: shards must share --runs, --seed-start and N",
                part.plan.runs,
                part.plan.seed_start,
                part.plan.shard,
                plan.runs,
                plan.seed_start,
                plan.shard
            ));
        }
    }
    let count = plan.shard.count;
    let mut given: Vec<Option<&str>> = vec![None; count as usize];
    for (label, part) in &parts {
        let slot = &mut given[(part.plan.shard.index - 1) as usize];
        if let Some(other) = slot {
            return err(format!(
                "shard {} is given twice ({other} and {label})",
                part.plan.shard
            ));
        }
        *slot = Some(label);
    }
    let missing: Vec<String> = given
        .iter()
        .enumerate()
        .filter(|(_, g)| g.is_none())
        .map(|(i, _)| {
            Shard {
                index: i as u32 + 1,
                count,
            }
            .to_string()
        })
        .collect();
    if !missing.is_empty() {
        return err(format!("missing shard {}", missing.join(", ")));
    }
    let wall: f64 = parts.iter().map(|(_, p)| p.wall_seconds).sum();
    let mut runs: Vec<_> = parts.into_iter().flat_map(|(_, p)| p.seed_runs).collect();
    runs.sort_by_key(|r| r.seed);
    let whole = plan.whole();
    let seeds: Vec<u64> = runs.iter().map(|r| r.seed).collect();
    if seeds != whole.seeds() {
        return err(format!(
            "the shards' seeds are not exactly seeds {}..={} (a file was edited or cut short)",
            whole.seed_start,
            whole.seed_start + u64::from(whole.runs) - 1
        ));
    }
    Ok(Calibration::new(drill, whole, runs, wall))
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}

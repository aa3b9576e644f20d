//! The `metric` view: one metric over a span (15 minutes by default), as a sparkline of its
//! window value at every bucket and a table with a row per minute and a bar.
//!
//! It does not resolve or name metrics itself ([`super::signals`] does, refusing ground truth)
//! and draws with [`super::layout`].

use std::fmt::Write as _;

use super::layout::{axis, bar, spark, table};
use super::signals::{Unit, observed, parse_metric, signal_name};
use super::{DEFAULT_SPAN, ViewContext, bucket_end};
use crate::drill::Duration;

/// Most sparkline characters `metric` prints.
const METRIC_SPARK: usize = 72;

/// Width of the bar next to each row of the `metric` table.
const METRIC_BAR: usize = 24;

/// One metric over `last` (default 15 minutes): the window value at every bucket as a
/// sparkline, then a table with a row per minute (the value at the bucket that closed on or
/// just after the minute).
pub fn metric(ctx: &ViewContext, name: &str, last: Option<Duration>) -> Result<String, String> {
    let observable = parse_metric(name, ctx.pools, ctx.steps)?;
    let signal = observable.signal();
    let span = last.unwrap_or(DEFAULT_SPAN);
    if span.is_zero() {
        return Err("`last` must be longer than 0s, e.g. last=15m".to_owned());
    }
    let name = signal_name(signal, ctx.pools, ctx.steps);
    let unit = Unit::of(signal);
    let recent = ctx.recent(span);
    let Some(latest) = recent.last() else {
        return Ok(if ctx.buckets().is_empty() {
            format!(
                "{name}: no data yet (first bucket closes at {})\n",
                ctx.first_close()
            )
        } else {
            format!("{name}: no bucket closed in the last {span}\n")
        });
    };
    let values: Vec<f64> = recent.iter().map(|b| observed(b, observable)).collect();
    let peak = values.iter().copied().fold(0.0, f64::max);
    let now = observed(latest, observable);
    let scale = ctx.full_scale(observable).max(peak);

    let mut out = format!("{name} ({})", unit.name());
    if !ctx.telemetry.window().is_zero() {
        let _ = write!(out, " over {}", ctx.telemetry.window());
    }
    let _ = writeln!(
        out,
        ", last {span}: now {}, peak {}",
        unit.format(now),
        unit.format(peak)
    );

    // Even groups of buckets per character, at most METRIC_SPARK characters.
    let group = values.len().div_ceil(METRIC_SPARK).max(1);
    let width = values.len().div_ceil(group);
    let slots: Vec<Option<f64>> = values.iter().copied().map(Some).collect();
    let _ = writeln!(out, "  {}", spark(&slots, width, scale));
    let _ = writeln!(out, "  {}", axis(span, width));

    let mut rows = vec![vec!["TIME".to_owned(), "VALUE".to_owned(), String::new()]];
    for bucket in recent.iter() {
        let (start, end) = (bucket.start(), bucket.start() + bucket.width());
        if (end / 60.0 + 1e-9).floor() > (start / 60.0 + 1e-9).floor() {
            let value = observed(bucket, observable);
            rows.push(vec![
                ctx.clock(bucket_end(bucket)),
                unit.format(value),
                bar(value, scale, METRIC_BAR),
            ]);
        }
    }
    if rows.len() > 1 {
        out.push('\n');
        out.push_str(&table(&rows, &[false, true, false]));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::metric_names;
    use super::super::testing::{QUIET_POOL, Run, context};
    use super::*;
    use crate::sim::SimTime;
    use crate::sim::{RunOptions, Sim};

    #[test]
    fn metric_has_a_row_per_minute() {
        let run = Run::monday(60.0);
        let ctx = run.ctx();
        for (last, rows) in [(None, 15), (Some(Duration::from_secs(300)), 5)] {
            let text = metric(&ctx, "pool_waiting:db", last).unwrap();
            let table: Vec<&str> = text
                .lines()
                .skip_while(|l| !l.starts_with("TIME"))
                .collect();
            assert_eq!(table.len(), 1 + rows, "{text}");
            assert!(table.last().unwrap().starts_with("09:45:00"), "{text}");
        }
        let text = metric(&ctx, "latency_p95", None).unwrap();
        assert!(
            text.starts_with("latency_p95 (seconds) over 1m, last 15m: now"),
            "{text}"
        );
        let err = metric(&ctx, "latency_p59", None).unwrap_err();
        assert!(err.contains("`latency_p95` or `latency_p99`?"), "{err}");
    }

    #[test]
    fn metric_bars_scale_ratios_to_the_whole() {
        let drill = crate::drill::parse_str(QUIET_POOL).unwrap();
        let mut sim = Sim::new(&drill, &RunOptions::default());
        sim.run_until(SimTime::from_secs_f64(20.0 * 60.0));
        let ctx = context(&sim, None, &[]);
        let text = metric(&ctx, "pool_utilization:db", None).unwrap();
        let spark = text.lines().nth(1).unwrap().trim();
        assert!(spark.chars().all(|c| c <= '▂'), "{text}");
        // The bars of the table: about 11% of 24 characters, three at most.
        for row in text.lines().skip_while(|l| !l.starts_with("TIME")).skip(1) {
            let bar = row.chars().filter(|c| *c == '█').count();
            assert!(bar <= 3, "{text}");
        }
    }

    #[test]
    fn metric_wrong_answer_ratio_is_refused_as_ground_truth() {
        let run = Run::monday(60.0);
        let ctx = run.ctx();
        let err = metric(&ctx, "wrong_answer_ratio", None).unwrap_err();
        assert!(err.contains("ground truth"), "{err}");
        assert!(
            err.contains("a real team cannot see wrong answers"),
            "{err}"
        );
        assert!(err.contains("use `eval_wrong_answer_ratio`"), "{err}");
        assert!(metric(&ctx, "WrongAnswerRatio", None).is_err());
        assert!(metric(&ctx, "eval_wrong_answer_ratio", None).is_ok());
        let names = metric_names(ctx.pools, ctx.steps);
        assert!(
            !names.iter().any(|n| n == "wrong_answer_ratio"),
            "{names:?}"
        );
    }
}

//! The `alerts` view: every alert rule in drill order, with its severity, phase and since
//! when, the last value it saw against its condition and how often it has fired.
//!
//! It does not evaluate alerts (the engine does; this reads their states) and never shows the
//! value an alert on ground truth saw.

use std::fmt::Write as _;

use super::ViewContext;
use super::layout::{ago, severity_name, table};
use super::signals::{Unit, signal_name};
use crate::sim::world::AlertPhase;

/// Every alert rule in drill order: severity, phase and since when, the last value it saw
/// against its condition, and how often it has fired.
#[must_use]
pub fn alerts(ctx: &ViewContext) -> String {
    if ctx.alerts.is_empty() {
        return "no alert rules in this drill\n".to_owned();
    }
    let count = |phase: AlertPhase| ctx.alerts.iter().filter(|(_, s)| s.phase == phase).count();
    let mut out = format!(
        "ALERTS  {}  {} firing, {} pending, {} inactive\n",
        ctx.clock(ctx.now),
        count(AlertPhase::Firing),
        count(AlertPhase::Pending),
        count(AlertPhase::Inactive)
    );
    let mut rows = vec![
        [
            "NAME",
            "SEVERITY",
            "STATE",
            "SINCE",
            "VALUE",
            "FIRED",
            "CONDITION",
        ]
        .map(str::to_owned)
        .to_vec(),
    ];
    for (rule, state) in ctx.alerts {
        let unit = Unit::of(rule.signal);
        let (phase, since) = match state.phase {
            AlertPhase::Inactive => ("inactive", String::new()),
            AlertPhase::Pending => ("pending", ctx.clock(state.since)),
            AlertPhase::Firing => ("FIRING", ctx.clock(state.since)),
        };
        let state_text = match state.phase {
            AlertPhase::Inactive => phase.to_owned(),
            _ => format!("{phase} {}", ago(ctx.now.since(state.since))),
        };
        let mut condition = format!(
            "{} {} {}",
            signal_name(rule.signal, ctx.pools, ctx.steps),
            if rule.above { ">" } else { "<" },
            unit.format_threshold(rule.threshold)
        );
        if !rule.hold.is_zero() {
            let _ = write!(condition, " for {}", rule.hold);
        }
        let evaluated = state.phase != AlertPhase::Inactive
            || !state.pending_at.is_empty()
            || !ctx.buckets().is_empty();
        rows.push(vec![
            rule.name.clone(),
            severity_name(rule.severity).to_owned(),
            state_text,
            since,
            if rule.signal.is_ground_truth() {
                // An alert on ground truth (`check` warns about it) still fires, but the team
                // is not shown the value it saw.
                "hidden".to_owned()
            } else if evaluated {
                unit.format(state.last_value)
            } else {
                "-".to_owned()
            },
            format!("{}×", state.fired_at.len()),
            condition,
        ]);
    }
    out.push_str(&table(
        &rows,
        &[false, false, false, false, true, true, false],
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::super::testing::{MONDAY, Run, context};
    use super::*;
    use crate::sim::SimTime;
    use crate::sim::{RunOptions, Sim};

    #[test]
    fn alerts_list_every_rule_with_its_condition() {
        let run = Run::monday(60.0);
        let text = alerts(&run.ctx());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2 + run.sim.alert_states().len(), "{text}");
        assert!(lines[0].contains("3 firing"), "{text}");
        assert!(text.contains("latency_p95 > 5s for 3m"), "{text}");
        assert!(text.contains("pool_utilization:db > 95% for 2m"), "{text}");
        assert!(text.contains("pool_timeout_rate:db > 1/s for 2m"), "{text}");
        let quiet = alerts(&Run::monday(30.0).ctx());
        assert!(quiet.contains("0 firing, 0 pending, 3 inactive"), "{quiet}");
    }

    #[test]
    fn alerts_hide_the_value_of_an_alert_on_ground_truth() {
        let text = MONDAY.replacen(
            "alerts: [",
            "alerts: [\n        Alert(name: \"WrongAnswers\", when: Above(metric: WrongAnswerRatio, threshold: 0.05), for: \"1m\", severity: Ticket),",
            1,
        );
        let drill = crate::drill::parse_str(&text).unwrap();
        let mut sim = Sim::new(&drill, &RunOptions::default());
        sim.run_until(SimTime::from_secs_f64(60.0 * 60.0));
        let ctx = context(&sim, None, &[]);
        let text = alerts(&ctx);
        let row = text
            .lines()
            .find(|l| l.starts_with("WrongAnswers"))
            .unwrap();
        assert!(row.contains("hidden"), "{text}");
        let db = text
            .lines()
            .find(|l| l.starts_with("DbPoolSaturated"))
            .unwrap();
        assert!(!db.contains("hidden") && db.contains('%'), "{text}");
    }
}

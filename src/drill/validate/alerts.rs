//! Alerts and what the team observes: alert conditions and thresholds, dashboard panels, log
//! messages on steps and faults (a fault needs a [`LogTarget`] to write on), and the
//! [`warnings`] a valid drill may still deserve (an alert on ground truth).
//!
//! It does not check the faults' effects themselves (that is [`super::effects`]).

use super::{Checker, FieldPath, SemanticProblem};
use crate::drill::log_target::LogTarget;
use crate::drill::spec::{Alert, Condition, Drill, Metric};

impl Checker<'_> {
    pub(super) fn alert(&mut self, alert: &Alert, path: &FieldPath) {
        self.name_not_empty(&alert.name, &path.field("name"), "alert");
        let (Condition::Above { metric, threshold } | Condition::Below { metric, threshold }) =
            &alert.when;
        let variant_path = path.field("when");
        if let Some(pool) = metric.pool() {
            self.pool_ref(pool, variant_path.field("metric").item(0));
        }
        if let Some(step) = metric.step() {
            self.step_ref(step, variant_path.field("metric").item(0));
        }
        let ratio = matches!(
            metric,
            Metric::ErrorRatio
                | Metric::DegradedRatio
                | Metric::WrongAnswerRatio
                | Metric::PoolUtilization(_)
                | Metric::StepErrorRatio(_)
        );
        let threshold_path = variant_path.field("threshold");
        if !threshold.is_finite() || *threshold < 0.0 {
            self.report(
                threshold_path,
                format!(
                    "alert `{}` has threshold {threshold}, but metrics are never negative",
                    alert.name
                ),
                "must be 0 or more",
                "write the level at which the alert should fire",
            );
        } else if matches!(alert.when, Condition::Below { .. }) && *threshold <= 0.0 {
            self.report(
                threshold_path,
                format!(
                    "alert `{}` never fires: no metric goes below {threshold}",
                    alert.name
                ),
                "never fires",
                "`Below` fires when the metric is strictly below the threshold: use a positive one",
            );
        } else if ratio && *threshold > 1.0 {
            self.report(
                threshold_path,
                format!(
                    "alert `{}` has threshold {threshold}, but {} is a ratio from 0 to 1",
                    alert.name,
                    metric_name(metric)
                ),
                "must be from 0 to 1",
                "write a fraction: 0.05 for 5%",
            );
        }
    }

    pub(super) fn observation(&mut self) {
        let drill = self.drill;
        for (i, panel) in drill.dashboard.iter().enumerate() {
            let path = FieldPath::root("dashboard").index(i);
            if panel.title.trim().is_empty() {
                self.report(
                    path.field("title"),
                    "a dashboard panel has an empty title",
                    "empty title",
                    "title the panel as the team's own dashboard does, e.g. `title: \"Vendor calls\"`",
                );
            }
            if let Some(pool) = panel.metric.pool() {
                self.pool_ref(pool, path.field("metric").item(0));
            }
            if let Some(step) = panel.metric.step() {
                self.step_ref(step, path.field("metric").item(0));
            }
            if panel.metric.is_ground_truth() {
                self.report(
                    path.field("metric"),
                    format!(
                        "panel `{}` shows {}, which is ground truth: a real team cannot see wrong answers as they happen",
                        panel.title,
                        metric_name(&panel.metric)
                    ),
                    "not observable",
                    "show `EvalWrongAnswerRatio`, the evaluation pipeline's late and sampled ratio",
                );
            }
            if let Some(max) = panel.max
                && !(max.is_finite() && max > 0.0)
            {
                self.report(
                    path.field("max"),
                    format!("panel `{}` has full scale {max}", panel.title),
                    "must be more than 0",
                    "give the value a full-height bar stands for, in the metric's unit (ratios as fractions: 1.0 for 100%), or leave `max` out",
                );
            }
        }
        for (i, step) in drill.service.steps.iter().enumerate() {
            self.log_message(
                step.log.as_deref(),
                &FieldPath::root("service")
                    .field("steps")
                    .index(i)
                    .field("log"),
                &format!("step `{}`", step.name),
            );
        }
        for (i, fault) in drill.faults.iter().enumerate() {
            let path = FieldPath::root("faults").index(i).field("log");
            self.log_message(
                fault.log.as_deref(),
                &path,
                &format!("fault `{}`", fault.name),
            );
            let first_reason = fault.all_effects().into_iter().map(LogTarget::of).try_fold(
                None,
                |reason, target| match target {
                    Ok(_) => Err(()),
                    Err(r) => Ok(reason.or(Some(r))),
                },
            );
            if fault.log.is_some()
                && let Ok(Some(reason)) = first_reason
            {
                self.report(
                    path,
                    format!("fault `{}` has a log message, but a fault that {reason}", fault.name),
                    "no line to write it on",
                    "leave `log` out; give it to a fault on a step or a pool, or tell the team with an inject",
                );
            }
        }
    }

    pub(super) fn log_message(&mut self, message: Option<&str>, path: &FieldPath, whose: &str) {
        if message.is_some_and(|m| m.trim().is_empty()) {
            self.report(
                path.clone(),
                format!("{whose} has an empty log message"),
                "empty message",
                "write what the service prints, e.g. `log: \"vendor lookup_invoice timed out\"`, or leave `log` out",
            );
        }
    }
}

/// Things a valid drill may do but probably should not: each with its path, a message and a
/// hint, as a problem has. `check` prints them as warnings; they do not make a drill invalid.
#[must_use]
pub fn warnings(drill: &Drill) -> Vec<SemanticProblem> {
    let mut out = Vec::new();
    for (i, alert) in drill.alerts.iter().enumerate() {
        let metric = alert.when.metric();
        if metric.is_ground_truth() {
            out.push(
                SemanticProblem::new(
                    FieldPath::root("alerts").index(i).field("when").field("metric"),
                    format!(
                        "alert `{}` watches {}, which no real system measures: it pages on ground truth",
                        alert.name,
                        metric_name(metric)
                    ),
                    "ground truth",
                )
                .hint("watch `EvalWrongAnswerRatio` (the evaluation pipeline's late, sampled ratio) or a symptom the service measures; the alert is left out of exported Prometheus rules"),
            );
        }
    }
    out
}

/// A metric as written in RON (`PoolUtilization("db")`), which is also its `Debug` form.
fn metric_name(metric: &Metric) -> String {
    format!("`{metric:?}`")
}

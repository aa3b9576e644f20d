//! What a room tells its streams: the events built from notices (news for everyone, faults
//! and recovery for the facilitator), the state, the people, commands and injects, and, as
//! buckets close, the charts (observable values for everyone; the truth and the no-response
//! counterfactual for the facilitator), the alerts and the checklists.
//!
//! It does not filter by audience (the event log does, as each stream reads it) and does not
//! change the session.

use serde_json::{Map, Value, json};

use super::Room;
use crate::drill::spec::{Condition, Metric};
use crate::front::serve::events::Audience;
use crate::score;
use crate::session::Notice;
use crate::session::checklist;
use crate::session::{News, SimTime};
use crate::telemetry::observed::{Observable, ObservedBucket, TeamView};
use crate::telemetry::series::Signal;

impl Room {
    pub(super) fn push_state(&self) {
        self.log.push(Audience::All, "state", &self.state());
    }

    pub(super) fn push_people(&self) {
        self.log.push(
            Audience::All,
            "people",
            &json!({ "people": self.meta.people }),
        );
    }

    pub(super) fn push_end(&self) {
        let at = self.session.ended().unwrap_or_else(|| self.session.now());
        self.log.push(
            Audience::All,
            "end",
            &json!({ "at_ns": at.nanos(), "clock": self.session.clock_text(at) }),
        );
    }

    pub(super) fn push_command(
        &self,
        at: SimTime,
        role: &str,
        person: &str,
        input: &str,
        output: &str,
    ) {
        self.log.push(
            Audience::All,
            "command",
            &json!({
                "at_ns": at.nanos(),
                "clock": self.session.clock_text(at),
                "role": role,
                "person": person,
                "input": input,
                "output": output,
            }),
        );
    }

    pub(super) fn push_inject(&self, to: Option<&str>, from: &str, message: &str) {
        let at = self.session.now();
        let text = self.session.render_notice(&Notice::Inject {
            at,
            from: from.to_owned(),
            message: message.to_owned(),
        });
        let audience = to.map_or(Audience::All, |r| Audience::Role(r.to_owned()));
        self.log.push(
            audience,
            "news",
            &json!({ "at_ns": at.nanos(), "kind": "inject", "to": to, "text": text }),
        );
    }

    /// A vertical mark on the charts at `at`: a team action ordered or taking effect (for
    /// everyone), a fault beginning or ending (the facilitator's only).
    pub(super) fn push_mark(&self, audience: Audience, at: SimTime, kind: &str, label: &str) {
        self.log.push(
            audience,
            "mark",
            &json!({
                "t": at.as_secs_f64(),
                "clock": self.session.clock_text(at),
                "kind": kind,
                "label": label,
            }),
        );
    }

    /// Tells the facilitator what an action does (the drill's effect, with the values the
    /// team typed), as it is ordered.
    pub(super) fn push_action_fact(&self, at: SimTime, name: &str, params: &[(String, f64)]) {
        let Some(action) = self.session.drill().actions.iter().find(|a| a.name == name) else {
            return;
        };
        self.log.push(
            Audience::Facilitator,
            "fact",
            &json!({
                "at_ns": at.nanos(),
                "clock": self.session.clock_text(at),
                "text": crate::drill::describe::action(action, params),
            }),
        );
    }

    /// Turns notices into events: what the team is told for everyone, the truth (faults,
    /// recovery) for the facilitator; then new buckets, alerts and checklists.
    pub(super) fn publish(&mut self, notices: &[Notice]) {
        if let Some(feed) = &self.notify {
            feed.notices(&self.session, notices);
        }
        for notice in notices {
            let at = notice.at();
            let clock = self.session.clock_text(at);
            match notice {
                Notice::System(News::FaultStarted { fault, .. }) => {
                    self.push_mark(
                        Audience::Facilitator,
                        at,
                        "fault",
                        &format!("{fault} began"),
                    );
                }
                Notice::System(News::FaultEnded { fault, .. }) => {
                    self.push_mark(
                        Audience::Facilitator,
                        at,
                        "fault",
                        &format!("{fault} ended"),
                    );
                }
                Notice::System(News::ActionLanded { action, .. }) => {
                    self.push_mark(
                        Audience::All,
                        at,
                        "effect",
                        &format!("{action} took effect"),
                    );
                }
                _ => {}
            }
            let fact = match notice {
                Notice::System(News::FaultStarted { fault, .. }) => {
                    Some(format!("fault {fault} started"))
                }
                Notice::System(News::FaultEnded { fault, .. }) => {
                    Some(format!("fault {fault} ended"))
                }
                Notice::System(News::Recovered { .. }) => {
                    Some("the system has recovered (ground truth)".to_owned())
                }
                _ => None,
            };
            if let Some(text) = fact {
                self.log.push(
                    Audience::Facilitator,
                    "fact",
                    &json!({ "at_ns": at.nanos(), "clock": clock, "text": text }),
                );
                continue;
            }
            let text = self.session.render_notice(notice);
            if text.is_empty() {
                continue;
            }
            let kind = match notice {
                Notice::Inject { .. } => "inject",
                Notice::End { .. } => "end",
                Notice::System(_) => "system",
            };
            self.log.push(
                Audience::All,
                "news",
                &json!({ "at_ns": at.nanos(), "kind": kind, "text": text }),
            );
        }
        self.push_buckets();
        self.push_alerts();
        self.push_checklists();
    }

    /// One `telemetry` event (what the team sees) and one `truth` event (the facilitator's)
    /// per bucket closed since the last call.
    fn push_buckets(&mut self) {
        let telemetry = self.session.sim().telemetry();
        let view = TeamView::new(telemetry);
        let total = view.buckets().len();
        if total <= self.buckets_sent {
            return;
        }
        let pools = self.session.sim().pool_names();
        let steps = self.session.sim().step_names();
        let panels = &self.session.drill().dashboard;
        let alerts = &self.session.drill().alerts;
        for b in view.buckets().iter().skip(self.buckets_sent) {
            let point = observed_point(b, pools, steps, panels, alerts);
            self.log.push(Audience::All, "telemetry", &point);
        }
        let truth = self.session.sim().truth();
        let faults: Vec<Value> = self
            .session
            .drill()
            .faults
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let started = truth.fault_started.get(i).copied().flatten();
                let ended = truth.fault_ended.get(i).copied().flatten();
                json!({
                    "fault": f.name,
                    "active": started.is_some() && ended.is_none(),
                    "started": started.map(|t| self.session.clock_text(t)),
                    "ended": ended.map(|t| self.session.clock_text(t)),
                })
            })
            .collect();
        for raw in &telemetry.buckets()[self.buckets_sent..total] {
            self.log.push(
                Audience::Facilitator,
                "truth",
                &json!({
                    "t": raw.start,
                    "wrong_answer_ratio": raw.window.wrong_answer_ratio,
                    "wrong_answers": raw.wrong_answers,
                    "faults": faults,
                    "recovered": truth.recovered.map(|t| self.session.clock_text(t)),
                }),
            );
        }
        self.buckets_sent = total;
        if let Some(last) = telemetry.buckets()[..total].last() {
            let now = SimTime::from_secs_f64(last.start + last.width);
            let team = harm_by(telemetry.buckets(), now);
            let none = harm_by(&self.no_response, now);
            self.log.push(
                Audience::Facilitator,
                "counterfactual",
                &json!({
                    "clock": self.session.clock_text(now),
                    "team": team,
                    "no_response": none,
                    "avoided": i128::from(none["harmed"].as_u64().unwrap_or(0))
                        - i128::from(team["harmed"].as_u64().unwrap_or(0)),
                }),
            );
        }
        self.push_state();
    }

    fn push_alerts(&mut self) {
        let drill = self.session.drill();
        let alerts: Vec<Value> = self
            .session
            .sim()
            .alert_states()
            .iter()
            .map(|(rule, state)| {
                let spec = drill.alerts.iter().find(|a| a.name == rule.name);
                // The line the alert fires at, on the chart of its metric: for alerts on
                // what the team can see only.
                let line = spec
                    .filter(|a| !a.when.metric().is_ground_truth())
                    .map(|a| match &a.when {
                        Condition::Above { metric, threshold } => (metric, *threshold, "above"),
                        Condition::Below { metric, threshold } => (metric, *threshold, "below"),
                    });
                json!({
                    "name": rule.name,
                    "severity": format!("{:?}", rule.severity).to_lowercase(),
                    "phase": format!("{:?}", state.phase).to_lowercase(),
                    "since": self.session.clock_text(state.since),
                    "summary": spec.map(|a| a.summary.clone()),
                    "metric": line.map(|(m, _, _)| series_key(m, &rule.name)),
                    "metric_name": line.map(|(m, _, _)| metric_label(m)),
                    "unit": line.map(|(m, _, _)| metric_unit(m)),
                    "threshold": line.map(|(_, t, _)| t),
                    "when": line.map(|(_, _, w)| w),
                })
            })
            .collect();
        let text = serde_json::to_string(&alerts).expect("alerts serialise");
        if text != self.last_alerts {
            self.log
                .push(Audience::All, "alerts", &json!({ "alerts": alerts }));
            self.last_alerts = text;
        }
    }

    /// The checklists with their verdicts for the facilitator; for each role, if the
    /// facilitator shows them, its own tasks, done or not.
    pub(super) fn push_checklists(&mut self) {
        let results = checklist::evaluate_all(
            self.session.drill(),
            self.session.sim().truth(),
            self.session.team(),
            self.session.now(),
            self.session.ended().is_some(),
        );
        let text = serde_json::to_string(&results).expect("checklists serialise");
        if text != self.last_checklists {
            self.log.push(
                Audience::Facilitator,
                "checklists",
                &json!({ "tasks": results }),
            );
            self.last_checklists = text;
        }
        for role in &self.session.drill().roles {
            let tasks: Vec<Value> = if self.meta.checklists_revealed {
                results
                    .iter()
                    .filter(|r| r.role == role.id)
                    .map(|r| {
                        json!({
                            "text": r.text,
                            "done": !matches!(
                                r.status,
                                checklist::Status::Open
                                    | checklist::Status::Overdue
                                    | checklist::Status::Missed
                            ),
                            "due": r.due_text,
                        })
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let data = json!({ "shown": self.meta.checklists_revealed, "tasks": tasks });
            let text = data.to_string();
            if self.last_role_checklists.get(&role.id) != Some(&text) {
                self.log
                    .push(Audience::Role(role.id.clone()), "checklist", &data);
                self.last_role_checklists.insert(role.id.clone(), text);
            }
        }
    }
}

/// One bucket's chart values, from observable signals only: the standard series, and the
/// drill's own dashboard panels (`panel TITLE`; a panel on ground truth is left out).
fn observed_point(
    b: ObservedBucket,
    pools: &[String],
    steps: &[String],
    panels: &[crate::drill::spec::Panel],
    alerts: &[crate::drill::spec::Alert],
) -> Value {
    let mut values = Map::new();
    let mut put = |name: String, signal: Signal| {
        if let Ok(o) = Observable::new(signal)
            && let Some(v) = b.value(o)
            && v.is_finite()
        {
            values.insert(name, json!(v));
        }
    };
    put("arrival_rate".into(), Signal::ArrivalRate);
    put("throughput".into(), Signal::Throughput);
    put("error_ratio".into(), Signal::ErrorRatio);
    put("rejected_rate".into(), Signal::RejectedRate);
    put("degraded_ratio".into(), Signal::DegradedRatio);
    put("latency_p50".into(), Signal::LatencyP50);
    put("latency_p95".into(), Signal::LatencyP95);
    put("latency_p99".into(), Signal::LatencyP99);
    put("in_flight".into(), Signal::InFlight);
    put("eval_ratio".into(), Signal::EvalWrongAnswerRatio);
    for (i, p) in pools.iter().enumerate() {
        put(format!("pool {p} utilization"), Signal::PoolUtilization(i));
        put(format!("pool {p} waiting"), Signal::PoolWaiting(i));
    }
    for (i, s) in steps.iter().enumerate() {
        put(format!("step {s} time"), Signal::StepTime(i));
    }
    for panel in panels {
        if let Some(signal) = Signal::resolve(&panel.metric, pools, steps) {
            put(format!("panel {}", panel.title), signal);
        }
    }
    // An alert's metric that no standard chart shows gets a series of its own.
    for alert in alerts {
        let key = series_key(alert.when.metric(), &alert.name);
        if key.starts_with("alert ")
            && let Some(signal) = Signal::resolve(alert.when.metric(), pools, steps)
        {
            put(key, signal);
        }
    }
    json!({ "t": b.start(), "width": b.width(), "v": values })
}

/// The key of the chart series a metric is drawn as: a standard series (as
/// [`observed_point`] names it), else `alert NAME`, the alert's own series.
fn series_key(metric: &Metric, alert: &str) -> String {
    match metric {
        Metric::ArrivalRate => "arrival_rate".into(),
        Metric::Throughput => "throughput".into(),
        Metric::ErrorRatio => "error_ratio".into(),
        Metric::RejectedRate => "rejected_rate".into(),
        Metric::DegradedRatio => "degraded_ratio".into(),
        Metric::LatencyP50 => "latency_p50".into(),
        Metric::LatencyP95 => "latency_p95".into(),
        Metric::LatencyP99 => "latency_p99".into(),
        Metric::InFlight => "in_flight".into(),
        Metric::EvalWrongAnswerRatio => "eval_ratio".into(),
        Metric::PoolUtilization(p) => format!("pool {p} utilization"),
        Metric::PoolWaiting(p) => format!("pool {p} waiting"),
        Metric::StepTime(s) => format!("step {s} time"),
        _ => format!("alert {alert}"),
    }
}

/// A metric in words, for a chart's title.
fn metric_label(metric: &Metric) -> String {
    match metric {
        Metric::ErrorRate => "errors".into(),
        Metric::PoolSize(p) => format!("pool {p} size"),
        Metric::PoolTimeoutRate(p) => format!("pool {p} acquire timeouts"),
        Metric::StepErrorRatio(s) => format!("step {s} error ratio"),
        Metric::StepRateLimitedRate(s) => format!("step {s} 429s"),
        Metric::StepRetryRate(s) => format!("step {s} retries"),
        Metric::RetryRate => "retries".into(),
        Metric::TokenRate => "tokens".into(),
        Metric::CostRate => "cost".into(),
        Metric::WrongAnswerRatio => "wrong answer ratio".into(),
        other => series_key(other, "").replace('_', " "),
    }
}

/// The unit a chart labels a metric's ticks with: `%` (ratios, shown as percentages), `s`,
/// `/s`, or none (counts).
fn metric_unit(metric: &Metric) -> &'static str {
    match metric {
        Metric::ErrorRatio
        | Metric::DegradedRatio
        | Metric::WrongAnswerRatio
        | Metric::EvalWrongAnswerRatio
        | Metric::PoolUtilization(_)
        | Metric::StepErrorRatio(_) => "%",
        Metric::LatencyP50 | Metric::LatencyP95 | Metric::LatencyP99 | Metric::StepTime(_) => "s",
        Metric::InFlight | Metric::PoolWaiting(_) | Metric::PoolSize(_) => "",
        _ => "/s",
    }
}

/// Users harmed (each once: their request ended failed or rejected, or was answered degraded
/// or wrong), and the failed and rejected attempts, in the buckets that end by `now`.
fn harm_by(buckets: &[crate::telemetry::series::Bucket], now: SimTime) -> Value {
    let buckets = score::impact::within(buckets, now);
    let sum = |f: fn(&crate::telemetry::series::Bucket) -> u64| buckets.iter().map(f).sum::<u64>();
    json!({
        "harmed": sum(|b| b.users_failed) + sum(|b| b.users_rejected) + sum(|b| b.users_poor),
        "failed_attempts": sum(|b| b.failed) + sum(|b| b.rejected),
        "failed": sum(|b| b.failed),
        "rejected": sum(|b| b.rejected),
        "degraded": sum(|b| b.degraded),
        "wrong_answers": sum(|b| b.wrong_answers),
    })
}

//! Alert rules as the world holds them (one entity each, with its state) and their
//! evaluation at the end of every bucket against the window values telemetry computed:
//! inactive, pending while the condition holds for less than its `hold`, firing, resolved.
//!
//! It does not decide what the team sees of an alert, nor what counts as recovery
//! ([`super::truth`]).

// bevy systems take their parameters (`Res`, `Query`) by value.
#![allow(clippy::needless_pass_by_value)]

use bevy_ecs::prelude::*;
use serde::Serialize;

use super::news::News;
use crate::drill::Duration;
use crate::drill::spec::Severity;
use crate::sim::SimTime;
use crate::sim::core::Core;
use crate::telemetry::series::Signal;
use crate::telemetry::store::Telemetry;

/// An alert rule, resolved against the drill.
#[derive(Component, Debug, Clone)]
pub struct AlertRule {
    pub index: usize,
    pub name: String,
    pub signal: Signal,
    pub above: bool,
    pub threshold: f64,
    pub hold: Duration,
    pub severity: Severity,
}

/// Where an alert is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertPhase {
    #[default]
    Inactive,
    Pending,
    Firing,
}

#[derive(Component, Debug, Clone, Default)]
pub struct AlertState {
    pub phase: AlertPhase,
    /// When the current pending or firing phase began.
    pub since: SimTime,
    pub last_value: f64,
    pub pending_at: Vec<SimTime>,
    pub fired_at: Vec<SimTime>,
    pub resolved_at: Vec<SimTime>,
}

pub(super) fn evaluate_alerts(
    core: Res<Core>,
    telemetry: Res<Telemetry>,
    mut alerts: Query<(&AlertRule, &mut AlertState)>,
    mut news: MessageWriter<News>,
) {
    let now = core.now;
    let Some(window) = telemetry.buckets().last().map(|b| &b.window) else {
        return;
    };
    let mut sorted: Vec<_> = alerts.iter_mut().collect();
    sorted.sort_by_key(|(rule, _)| rule.index);
    for (rule, mut state) in sorted {
        let value = window.value(rule.signal);
        state.last_value = value;
        let holds = if rule.above {
            value > rule.threshold
        } else {
            value < rule.threshold
        };
        let alert = rule.name.clone();
        match (state.phase, holds) {
            (AlertPhase::Inactive, true) => {
                state.phase = AlertPhase::Pending;
                state.since = now;
                state.pending_at.push(now);
                news.write(News::AlertPending {
                    at: now,
                    alert: alert.clone(),
                    value,
                });
                if rule.hold.is_zero() {
                    fire(rule, &mut state, now, value, &mut news);
                }
            }
            (AlertPhase::Pending, true) if now.since(state.since) >= rule.hold => {
                fire(rule, &mut state, now, value, &mut news);
            }
            (AlertPhase::Pending, false) => state.phase = AlertPhase::Inactive,
            (AlertPhase::Firing, false) => {
                state.phase = AlertPhase::Inactive;
                state.resolved_at.push(now);
                news.write(News::AlertResolved {
                    at: now,
                    alert,
                    value,
                });
            }
            _ => {}
        }
    }
}

/// A pending alert starts firing.
fn fire(
    rule: &AlertRule,
    state: &mut AlertState,
    now: SimTime,
    value: f64,
    news: &mut MessageWriter<News>,
) {
    state.phase = AlertPhase::Firing;
    state.fired_at.push(now);
    news.write(News::AlertFiring {
        at: now,
        alert: rule.name.clone(),
        value,
        severity: rule.severity,
    });
}

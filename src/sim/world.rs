//! The simulated world: a bevy_ecs [`World`] holding the hot [`Core`] resource, alert rules
//! and faults as entities, the telemetry and ground-truth resources, and a `Tick` schedule of
//! chained systems that runs once per metric bucket (close the bucket, evaluate alerts,
//! track ground truth, refresh ramping effects).
//!
//! The event loop runs outside the schedule: [`Sim::run_until`] lets [`Core::run_hot`] handle
//! request events directly and only comes back to the world for ticks, faults and actions.
//! [`Sim::new`] is the one function that turns a drill spec into a world.

// bevy systems take their parameters (`Res`, `Query`) by value.
#![allow(clippy::needless_pass_by_value)]

use bevy_ecs::prelude::*;
use serde::Serialize;

use super::core::{Core, CoreSpec, Kind, PoolInit, RetryPolicy, StepInit};
use super::effects::{ActiveEffect, Change, Knob, Source};
use super::rng::Seed;
use super::sampler::Sampler;
use super::traffic::ArrivalProcess;
use super::{RunOptions, SimTime};
use crate::drill::Duration;
use crate::drill::spec::{Condition, Drill, Effect, Severity, Value};
use crate::telemetry::log::LogNotes;
use crate::telemetry::series::Signal;
pub use crate::telemetry::store::Telemetry;

/// How long no page alert may be pending or firing before the system counts as recovered.
pub const RECOVERY_QUIET: Duration = Duration::from_secs(300);

/// Something the team would notice, in the order it happened.
#[derive(Message, Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum News {
    AlertPending {
        at: SimTime,
        alert: String,
        value: f64,
    },
    AlertFiring {
        at: SimTime,
        alert: String,
        value: f64,
        severity: Severity,
    },
    AlertResolved {
        at: SimTime,
        alert: String,
        value: f64,
    },
    FaultStarted {
        at: SimTime,
        fault: String,
    },
    FaultEnded {
        at: SimTime,
        fault: String,
    },
    ActionLanded {
        at: SimTime,
        action: String,
    },
    Recovered {
        at: SimTime,
    },
}

impl News {
    #[must_use]
    pub fn at(&self) -> SimTime {
        match self {
            News::AlertPending { at, .. }
            | News::AlertFiring { at, .. }
            | News::AlertResolved { at, .. }
            | News::FaultStarted { at, .. }
            | News::FaultEnded { at, .. }
            | News::ActionLanded { at, .. }
            | News::Recovered { at } => *at,
        }
    }
}

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

/// A fault from the script.
#[derive(Component, Debug, Clone)]
pub struct FaultRule {
    pub index: usize,
    pub name: String,
    pub at: SimTime,
    pub ramp: Duration,
    pub lasts: Option<Duration>,
    /// Its effects, resolved (an effect that does not resolve is left out).
    pub changes: Vec<Change>,
}

#[derive(Component, Debug, Clone, Default)]
pub struct FaultState {
    pub started: Option<SimTime>,
    pub ended: Option<SimTime>,
}

/// A team action's definition, resolved against the drill (effects resolve when ordered).
#[derive(Debug, Clone)]
pub struct ActionDef {
    pub name: String,
    pub params: Vec<String>,
    pub delay: Duration,
    pub effects: Vec<Effect>,
}

/// Team actions: their definitions and the orders waiting to land.
#[derive(Resource, Debug, Default)]
pub struct Actions {
    pub defs: Vec<ActionDef>,
    pending: Vec<(usize, Vec<Change>)>,
}

/// Why a team action could not be ordered.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ActionError {
    #[error("no action named `{0}`")]
    Unknown(String),
    #[error("`{action}` needs {param}=N")]
    MissingParam { action: String, param: String },
    #[error("`{action}` takes no parameter `{param}` (it takes: {takes})")]
    UnknownParam {
        action: String,
        param: String,
        takes: String,
    },
    #[error("{0}")]
    Invalid(String),
}

/// What the run has observed, recorded as it happens (the ground truth for scoring).
#[derive(Resource, Debug, Clone, Default)]
pub struct Truth {
    pub first_page: Option<SimTime>,
    /// The first page of an alert attributed to a cause fault (see [`super::attribution`]);
    /// recovery and the incident's timings count from it.
    pub first_cause_page: Option<SimTime>,
    pub recovered: Option<SimTime>,
    quiet_since: Option<SimTime>,
    /// Since when every bucket's share of arrivals shed by the team's actions has stayed
    /// below the drill's `shed_tolerance` (tracked after the first cause page).
    served_since: Option<SimTime>,
    /// Per alert (drill order): whether it is a page alert attributed to a cause, the alerts
    /// whose quiet `Recovered` waits for.
    pub cause_alert: Vec<bool>,
    /// The drill's `shed_tolerance`.
    pub shed_tolerance: f64,
    pub fault_started: Vec<Option<SimTime>>,
    pub fault_ended: Vec<Option<SimTime>>,
    pub alert_first_fired: Vec<Option<SimTime>>,
    pub alert_first_pending: Vec<Option<SimTime>>,
}

/// The schedule that runs at the end of every bucket.
#[derive(bevy_ecs::schedule::ScheduleLabel, Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tick;

fn close_bucket(mut core: ResMut<Core>, mut telemetry: ResMut<Telemetry>, truth: Res<Truth>) {
    let spare = telemetry.spare_histogram();
    let (start, counts) = core.close_bucket(spare);
    let lines = core.take_log();
    telemetry.close_bucket(
        start,
        core.now,
        counts,
        lines,
        &truth.fault_started,
        &truth.fault_ended,
    );
}
fn evaluate_alerts(
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

fn track_truth(
    core: Res<Core>,
    telemetry: Res<Telemetry>,
    alerts: Query<(&AlertRule, &AlertState)>,
    mut truth: ResMut<Truth>,
    mut news: MessageWriter<News>,
) {
    let now = core.now;
    let mut page_active = false;
    for (rule, state) in &alerts {
        if state.phase == AlertPhase::Firing && truth.alert_first_fired[rule.index].is_none() {
            truth.alert_first_fired[rule.index] = state.fired_at.first().copied();
        }
        if state.phase != AlertPhase::Inactive && truth.alert_first_pending[rule.index].is_none() {
            truth.alert_first_pending[rule.index] = state.pending_at.first().copied();
        }
        if rule.severity == Severity::Page {
            if state.phase == AlertPhase::Firing && truth.first_page.is_none() {
                truth.first_page = state.fired_at.first().copied();
            }
            if truth.cause_alert.get(rule.index).copied().unwrap_or(true) {
                page_active |= state.phase != AlertPhase::Inactive;
                if state.phase == AlertPhase::Firing && truth.first_cause_page.is_none() {
                    truth.first_cause_page = state.fired_at.first().copied();
                }
            }
        }
    }
    if truth.first_cause_page.is_none() || truth.recovered.is_some() {
        return;
    }
    if page_active {
        truth.quiet_since = None;
    } else {
        truth.quiet_since.get_or_insert(now);
    }
    // Shedding load is a mitigation, not a recovery: the bucket just closed must have served
    // all but `shed_tolerance` of its arrivals, leaving aside what the drill's own limits and
    // faults rejected.
    let served = telemetry
        .last_counts()
        .is_none_or(|b| b.shed == 0 || (b.shed as f64) < truth.shed_tolerance * b.arrived as f64);
    if served {
        let start = telemetry
            .buckets()
            .last()
            .map_or(now, |b| SimTime::from_secs_f64(b.start));
        truth.served_since.get_or_insert(start);
    } else {
        truth.served_since = None;
    }
    if let (Some(quiet), Some(served)) = (truth.quiet_since, truth.served_since) {
        let from = quiet.max(served);
        if now.since(from) >= RECOVERY_QUIET {
            let at = from.after(RECOVERY_QUIET);
            truth.recovered = Some(at);
            news.write(News::Recovered { at });
        }
    }
}

fn refresh_effects(mut core: ResMut<Core>) {
    if !core.effects.is_empty() {
        core.refresh_effects();
    }
}

/// A running simulation of one drill.
pub struct Sim {
    world: World,
    /// The alerts in drill order as of the last bucket (they change only at bucket ends).
    alerts: Vec<(AlertRule, AlertState)>,
    pools: Vec<String>,
    steps: Vec<String>,
    faults: Vec<String>,
    news: Vec<News>,
    drill_name: String,
    seed: u64,
}

impl Sim {
    /// Builds the world from a drill (which the loader has validated: references that do not
    /// resolve are ignored here rather than reported).
    #[must_use]
    pub fn new(drill: &Drill, options: &RunOptions) -> Self {
        let seed = Seed(options.seed.unwrap_or(drill.seed));
        let end = SimTime::from(options.duration.unwrap_or(drill.duration));
        let pools: Vec<String> = drill.pools.iter().map(|p| p.name.clone()).collect();
        let steps: Vec<String> = drill.service.steps.iter().map(|s| s.name.clone()).collect();
        let fault_names: Vec<String> = drill.faults.iter().map(|f| f.name.clone()).collect();
        let action_names: Vec<String> = drill.actions.iter().map(|a| a.name.clone()).collect();
        let pool_index = |name: &str| pools.iter().position(|p| p == name);
        let limit = |x: i64| u32::try_from(x.max(0)).unwrap_or(u32::MAX);
        let core = Core::new(CoreSpec {
            end,
            warmup: SimTime::from(options.warmup),
            seed,
            arrivals: ArrivalProcess::new(&drill.traffic, seed.stream("arrivals")),
            steps: drill
                .service
                .steps
                .iter()
                .map(|s| StepInit {
                    name: s.name.clone(),
                    pools: s.pool_names().into_iter().filter_map(pool_index).collect(),
                    share: s.share.unwrap_or(1.0).clamp(0.0, 1.0),
                    timeout: s.timeout.filter(|t| !t.is_zero()),
                    sampler: Sampler::new(&s.time),
                    on_timeout: s.on_timeout,
                    error_rate: s.error_rate.clamp(0.0, 1.0),
                    wrong_rate: s.wrong_answer_rate.clamp(0.0, 1.0),
                    tokens: s.tokens.max(0.0),
                    fallback: s.fallback.as_ref().map(|f| {
                        (
                            Sampler::new(&f.time),
                            f.wrong_answer_rate.clamp(0.0, 1.0),
                            f.tokens.max(0.0),
                        )
                    }),
                })
                .collect(),
            pools: drill
                .pools
                .iter()
                .map(|p| PoolInit {
                    name: p.name.clone(),
                    size: limit(p.size),
                    acquire_timeout: p.acquire_timeout,
                    cores: p.cores.map(limit),
                })
                .collect(),
            max_in_flight: drill.service.max_in_flight.map(limit),
            retry: drill.service.retries.as_ref().map(|r| RetryPolicy {
                max_attempts: u8::try_from(r.max_attempts.clamp(1, 100)).unwrap_or(100),
                backoff_nanos: r.backoff.as_nanos() as f64,
                multiplier: r.multiplier.max(0.0),
                jitter: r.jitter.clamp(0.0, 1.0),
                budget: r.budget.map(|b| b.max(0.0)),
            }),
            log_sample: drill.telemetry.log_sample,
            log_limit: drill.telemetry.log_limit,
            eval_sample: drill.telemetry.eval_sample,
        });

        let mut world = World::new();
        world.insert_resource(core);
        let bucket = if drill.telemetry.bucket.is_zero() {
            Duration::from_secs(10)
        } else {
            drill.telemetry.bucket
        };
        world.insert_resource(Telemetry::new(
            bucket,
            drill.telemetry.window,
            drill.service.cost_per_1k_tokens,
            drill.telemetry.eval_delay,
            LogNotes::of(drill),
        ));
        let cause_alert = drill
            .alerts
            .iter()
            .enumerate()
            .map(|(i, a)| {
                a.severity == Severity::Page
                    && options.cause_alerts.as_ref().is_none_or(|c| c.contains(&i))
            })
            .collect();
        world.insert_resource(Truth {
            cause_alert,
            shed_tolerance: drill.shed_tolerance,
            fault_started: vec![None; drill.faults.len()],
            fault_ended: vec![None; drill.faults.len()],
            alert_first_fired: vec![None; drill.alerts.len()],
            alert_first_pending: vec![None; drill.alerts.len()],
            ..Truth::default()
        });
        world.insert_resource(Actions {
            defs: drill
                .actions
                .iter()
                .map(|a| ActionDef {
                    name: a.name.clone(),
                    params: a.param_names().into_iter().map(str::to_owned).collect(),
                    delay: a.delay,
                    effects: a.all_effects().into_iter().cloned().collect(),
                })
                .collect(),
            pending: Vec::new(),
        });
        world.init_resource::<Messages<News>>();

        for (index, alert) in drill.alerts.iter().enumerate() {
            let (above, threshold) = match alert.when {
                Condition::Above { threshold, .. } => (true, threshold),
                Condition::Below { threshold, .. } => (false, threshold),
            };
            if let Some(signal) = Signal::resolve(alert.when.metric(), &pools, &steps) {
                world.spawn((
                    AlertRule {
                        index,
                        name: alert.name.clone(),
                        signal,
                        above,
                        threshold,
                        hold: alert.hold,
                        severity: alert.severity,
                    },
                    AlertState::default(),
                ));
            }
        }
        if !options.no_faults {
            for (index, fault) in drill.faults.iter().enumerate() {
                if options.leave_out_fault == Some(index) {
                    continue;
                }
                let names = Names {
                    pools: &pools,
                    steps: &steps,
                    faults: &fault_names,
                    actions: &action_names,
                };
                let changes = fault
                    .all_effects()
                    .into_iter()
                    .filter_map(|e| resolve_change(e, &names, &|_| None).ok())
                    .collect();
                world.spawn((
                    FaultRule {
                        index,
                        name: fault.name.clone(),
                        at: SimTime::from(fault.at),
                        ramp: fault.ramp,
                        lasts: fault.lasts,
                        changes,
                    },
                    FaultState::default(),
                ));
                let mut core = world.resource_mut::<Core>();
                core.schedule(SimTime::from(fault.at), Kind::FaultStart(index as u16));
                if let Some(lasts) = fault.lasts {
                    core.schedule(
                        SimTime::from(fault.at).after(lasts),
                        Kind::FaultEnd(index as u16),
                    );
                }
            }
        }
        let first_tick = SimTime::from(bucket).min(end);
        world
            .resource_mut::<Core>()
            .schedule(first_tick, Kind::Tick);

        let mut tick = Schedule::new(Tick);
        tick.add_systems((close_bucket, evaluate_alerts, track_truth, refresh_effects).chain());
        world.add_schedule(tick);

        let mut sim = Sim {
            world,
            alerts: Vec::new(),
            pools,
            steps,
            faults: fault_names,
            news: Vec::new(),
            drill_name: drill.name.clone(),
            seed: seed.0,
        };
        sim.snapshot_alerts();
        sim
    }

    #[must_use]
    pub fn now(&self) -> SimTime {
        self.core().now
    }

    #[must_use]
    pub fn end(&self) -> SimTime {
        self.core().end
    }

    #[must_use]
    pub fn seed(&self) -> u64 {
        self.seed
    }

    #[must_use]
    pub fn drill_name(&self) -> &str {
        &self.drill_name
    }

    #[must_use]
    pub fn events(&self) -> u64 {
        self.core().events
    }

    #[must_use]
    pub fn core(&self) -> &Core {
        self.world.resource::<Core>()
    }

    #[must_use]
    pub fn telemetry(&self) -> &Telemetry {
        self.world.resource::<Telemetry>()
    }

    #[must_use]
    pub fn truth(&self) -> &Truth {
        self.world.resource::<Truth>()
    }

    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.now() >= self.end()
    }

    /// The alerts in drill order, with their states.
    #[must_use]
    pub fn alert_states(&self) -> &[(AlertRule, AlertState)] {
        &self.alerts
    }

    /// The pools' names in drill order (the index of every per-pool series).
    #[must_use]
    pub fn pool_names(&self) -> &[String] {
        &self.pools
    }

    /// The steps' names in pipeline order (the index of every per-step series).
    #[must_use]
    pub fn step_names(&self) -> &[String] {
        &self.steps
    }

    fn snapshot_alerts(&mut self) {
        let mut all: Vec<_> = self
            .world
            .query::<(&AlertRule, &AlertState)>()
            .iter(&self.world)
            .map(|(r, s)| (r.clone(), s.clone()))
            .collect();
        all.sort_by_key(|(r, _)| r.index);
        self.alerts = all;
    }

    /// Takes the news that happened since the last call, in order.
    pub fn take_news(&mut self) -> Vec<News> {
        std::mem::take(&mut self.news)
    }

    /// Runs every event up to and including `limit` (capped at the drill's end) and moves the
    /// clock there.
    pub fn run_until(&mut self, limit: SimTime) {
        let limit = limit.min(self.end());
        loop {
            let next = self.world.resource_mut::<Core>().run_hot(limit);
            let Some((time, kind)) = next else { break };
            match kind {
                Kind::Tick => self.tick(time),
                Kind::FaultStart(i) => self.start_fault(i as usize, time),
                Kind::FaultEnd(i) => self.end_fault(i as usize, time),
                Kind::ActionLands(i) => self.land_action(i as usize, time),
                Kind::EffectExpires => {
                    let mut core = self.world.resource_mut::<Core>();
                    core.effects
                        .retain(|e| e.until.is_none_or(|until| until > time));
                    core.refresh_effects();
                }
                Kind::Arrival
                | Kind::StepDone { .. }
                | Kind::AcquireTimeout { .. }
                | Kind::Retry(_)
                | Kind::WarmupEnds => {
                    unreachable!("run_hot handles request events")
                }
            }
        }
        let mut core = self.world.resource_mut::<Core>();
        if core.now < limit {
            core.now = limit;
        }
    }

    /// Keeps telemetry bounded for a run that reports only its summary: closed buckets are
    /// dropped once no alert can look at them any more (beyond the window and the evaluation
    /// delay), the request log is not kept, and [`Sim::take_news`] may be called to drop news.
    /// Alerts, truth and the summary's totals are the same as with everything kept; only
    /// [`Telemetry::buckets`] and [`Telemetry::log`] lose their history. Call it before running.
    pub fn bound_telemetry(&mut self) {
        self.world.resource_mut::<Telemetry>().bound();
    }

    pub fn run_to_end(&mut self) {
        let end = self.end();
        self.run_until(end);
    }

    fn tick(&mut self, time: SimTime) {
        self.world.run_schedule(Tick);
        self.snapshot_alerts();
        self.collect_news();
        let end = self.end();
        let width = self.world.resource::<Telemetry>().bucket_width;
        if time < end {
            let next = time.after(width).min(end);
            self.world.resource_mut::<Core>().schedule(next, Kind::Tick);
        }
    }

    fn collect_news(&mut self) {
        let mut fresh: Vec<News> = self
            .world
            .resource_mut::<Messages<News>>()
            .drain()
            .collect();
        fresh.sort_by_key(News::at);
        self.news.extend(fresh);
    }

    /// Fault `index`'s rule and state, in the world.
    fn fault(&mut self, index: usize) -> Option<(FaultRule, Mut<'_, FaultState>)> {
        let entity = self
            .world
            .query::<(Entity, &FaultRule)>()
            .iter(&self.world)
            .find(|(_, f)| f.index == index)
            .map(|(e, _)| e)?;
        let rule = self.world.get::<FaultRule>(entity)?.clone();
        Some((rule, self.world.get_mut::<FaultState>(entity)?))
    }

    fn start_fault(&mut self, index: usize, time: SimTime) {
        let Some((rule, mut state)) = self.fault(index) else {
            return;
        };
        state.started = Some(time);
        self.world.resource_mut::<Truth>().fault_started[index] = Some(time);
        self.apply_changes(&rule.changes, Source::Fault(index), rule.ramp, time);
        self.news.push(News::FaultStarted {
            at: time,
            fault: rule.name,
        });
    }

    /// Ends fault `index` (by itself, or rolled back); a fault not running is left alone.
    fn end_fault(&mut self, index: usize, time: SimTime) {
        let Some((rule, mut state)) = self.fault(index) else {
            return;
        };
        if state.started.is_none() || state.ended.is_some() {
            return;
        }
        state.ended = Some(time);
        self.world.resource_mut::<Truth>().fault_ended[index] = Some(time);
        let mut core = self.world.resource_mut::<Core>();
        core.effects.retain(|e| e.source != Source::Fault(index));
        core.refresh_effects();
        self.news.push(News::FaultEnded {
            at: time,
            fault: rule.name,
        });
    }

    /// Orders the team action `name` with `params`; returns when it will land.
    ///
    /// # Errors
    /// An unknown action, a missing or unknown parameter, or a value the effect cannot take.
    pub fn order_action(
        &mut self,
        name: &str,
        params: &[(String, f64)],
    ) -> Result<SimTime, ActionError> {
        let actions = self.world.resource::<Actions>();
        let index = actions
            .defs
            .iter()
            .position(|a| a.name == name)
            .ok_or_else(|| ActionError::Unknown(name.to_owned()))?;
        let def = &actions.defs[index];
        for (key, _) in params {
            if !def.params.contains(key) {
                return Err(ActionError::UnknownParam {
                    action: name.to_owned(),
                    param: key.clone(),
                    takes: if def.params.is_empty() {
                        "nothing".into()
                    } else {
                        def.params.join(", ")
                    },
                });
            }
        }
        if let Some(missing) = def
            .params
            .iter()
            .find(|p| !params.iter().any(|(k, _)| k == *p))
        {
            return Err(ActionError::MissingParam {
                action: name.to_owned(),
                param: missing.clone(),
            });
        }
        let lookup = |key: &str| params.iter().find(|(k, _)| k == key).map(|(_, v)| *v);
        let action_names: Vec<String> = actions.defs.iter().map(|a| a.name.clone()).collect();
        let names = Names {
            pools: &self.pools,
            steps: &self.steps,
            faults: &self.faults,
            actions: &action_names,
        };
        let change = def
            .effects
            .iter()
            .map(|e| resolve_change(e, &names, &lookup))
            .collect::<Result<Vec<_>, _>>()
            .map_err(ActionError::Invalid)?;
        let lands = self.now().after(def.delay);
        let mut actions = self.world.resource_mut::<Actions>();
        actions.pending.push((index, change));
        let order = (actions.pending.len() - 1) as u32;
        self.world
            .resource_mut::<Core>()
            .schedule(lands, Kind::ActionLands(order));
        Ok(lands)
    }

    fn land_action(&mut self, order: usize, time: SimTime) {
        let (index, changes) = self.world.resource::<Actions>().pending[order].clone();
        let name = self.world.resource::<Actions>().defs[index].name.clone();
        self.news.push(News::ActionLanded {
            at: time,
            action: name,
        });
        self.apply_changes(&changes, Source::Action(index), Duration::ZERO, time);
    }

    /// Applies a fault's or an action's changes together: faults and actions are one
    /// mechanism. A repeated action replaces its earlier order (throttle 150, then 120).
    fn apply_changes(&mut self, changes: &[Change], source: Source, ramp: Duration, time: SimTime) {
        if changes.iter().any(|c| matches!(c, Change::Set(_))) {
            self.world
                .resource_mut::<Core>()
                .effects
                .retain(|e| e.source != source);
        }
        for &change in changes {
            self.apply_change(change, source.clone(), ramp, time);
        }
    }

    /// Applies one change of a fault or an action.
    fn apply_change(&mut self, change: Change, source: Source, ramp: Duration, time: SimTime) {
        match change {
            Change::Set(knob) => {
                let mut core = self.world.resource_mut::<Core>();
                core.effects.push(ActiveEffect {
                    knob,
                    start: time,
                    ramp,
                    until: None,
                    source,
                });
                core.refresh_effects();
            }
            Change::EndFault(fault) => self.end_fault(fault, time),
            Change::EndAction(action) => {
                let mut core = self.world.resource_mut::<Core>();
                core.effects.retain(|e| e.source != Source::Action(action));
                core.refresh_effects();
            }
            Change::RestartPool { pool, dip } => {
                let until = time.after(dip);
                let mut core = self.world.resource_mut::<Core>();
                core.restart_pool(pool);
                if !dip.is_zero() {
                    let knob = Knob::PoolSize { pool, size: 0.0 };
                    core.effects.push(ActiveEffect {
                        knob,
                        start: time,
                        ramp: Duration::ZERO,
                        until: Some(until),
                        source,
                    });
                    core.schedule(until, Kind::EffectExpires);
                }
                core.refresh_effects();
            }
        }
    }
}

/// The names effects refer to, in drill order.
#[derive(Debug, Clone, Copy)]
pub struct Names<'a> {
    pub pools: &'a [String],
    pub steps: &'a [String],
    pub faults: &'a [String],
    pub actions: &'a [String],
}

/// Resolves an effect's names to indices and its values to numbers.
///
/// # Errors
/// A message naming the unknown pool, step or parameter, or the value out of range.
pub fn resolve_change(
    effect: &Effect,
    names: &Names<'_>,
    param: &dyn Fn(&str) -> Option<f64>,
) -> Result<Change, String> {
    let Names {
        pools,
        steps,
        faults,
        actions,
    } = *names;
    let value = |v: &Value| match v {
        Value::Literal(x) => Ok(*x),
        Value::Param(name) => param(name).ok_or_else(|| format!("missing parameter `{name}`")),
    };
    let pool = |name: &str| {
        pools
            .iter()
            .position(|p| p == name)
            .ok_or_else(|| format!("no pool named `{name}`"))
    };
    let step = |name: &str| {
        steps
            .iter()
            .position(|s| s == name)
            .ok_or_else(|| format!("no step named `{name}`"))
    };
    let non_negative = |what: &str, x: f64| {
        if x.is_finite() && x >= 0.0 {
            Ok(x)
        } else {
            Err(format!("{what} must be a number ≥ 0, not {x}"))
        }
    };
    let fraction = |what: &str, x: f64| {
        if (0.0..=1.0).contains(&x) {
            Ok(x)
        } else {
            Err(format!("{what} must be between 0 and 1, not {x}"))
        }
    };
    let share = |share: &Option<f64>| match share {
        None => Ok(1.0),
        Some(x) if *x > 0.0 && *x <= 1.0 => Ok(*x),
        Some(x) => Err(format!("share must be more than 0 and at most 1, not {x}")),
    };
    Ok(Change::Set(match effect {
        Effect::EndAction(name) => {
            let action = actions
                .iter()
                .position(|a| a == name)
                .ok_or_else(|| format!("no action named `{name}`"))?;
            return Ok(Change::EndAction(action));
        }
        Effect::StepShare { step: s, share } => Knob::StepShare {
            step: step(s)?,
            share: fraction("share", value(share)?)?,
        },
        Effect::StepTimeout { step: s, timeout } => Knob::StepTimeout {
            step: step(s)?,
            nanos: timeout.as_nanos().max(1),
        },
        Effect::EndFault(name) => {
            let fault = faults
                .iter()
                .position(|f| f == name)
                .ok_or_else(|| format!("no fault named `{name}`"))?;
            return Ok(Change::EndFault(fault));
        }
        Effect::RestartPool { pool: p, dip } => {
            return Ok(Change::RestartPool {
                pool: pool(p)?,
                dip: *dip,
            });
        }
        Effect::WrongAnswerRate {
            step: s,
            rate,
            share: sh,
        } => Knob::WrongAnswerRate {
            step: step(s)?,
            rate: fraction("rate", value(rate)?)?,
            share: share(sh)?,
        },
        Effect::TokenMultiplier {
            step: s,
            factor,
            share: sh,
        } => Knob::TokenMultiplier {
            step: step(s)?,
            factor: non_negative("factor", value(factor)?)?,
            share: share(sh)?,
        },
        Effect::UseFallback { step: s, share: sh } => Knob::UseFallback {
            step: step(s)?,
            share: share(sh)?,
        },
        Effect::TrafficMultiplier(m) => {
            Knob::TrafficMultiplier(non_negative("a traffic multiplier", value(m)?)?)
        }
        Effect::AdmissionLimit { rps } => Knob::AdmissionLimit(non_negative("rps", value(rps)?)?),
        Effect::MaxInFlight { limit } => Knob::MaxInFlight(non_negative("limit", value(limit)?)?),
        Effect::PoolSize { pool: p, size } => {
            // The same rule as a pool's `size` in the drill: a whole number of at least 1.
            let size = value(size)?;
            if !(size.is_finite() && size.fract() == 0.0 && size >= 1.0) {
                return Err(format!(
                    "a pool size must be a whole number of at least 1, not {size}"
                ));
            }
            if size > 100_000.0 {
                return Err(format!("a pool size must be at most 100000, not {size}"));
            }
            Knob::PoolSize {
                pool: pool(p)?,
                size,
            }
        }
        Effect::StepTimeMultiplier {
            step: s,
            factor,
            share: sh,
        } => Knob::StepTimeMultiplier {
            step: step(s)?,
            factor: non_negative("factor", value(factor)?)?,
            share: share(sh)?,
        },
        Effect::StepErrorRate {
            step: s,
            rate,
            share: sh,
        } => Knob::StepErrorRate {
            step: step(s)?,
            rate: fraction("rate", value(rate)?)?,
            share: share(sh)?,
        },
        Effect::ConnectionLeak {
            pool: p,
            fraction: f,
        } => Knob::ConnectionLeak {
            pool: pool(p)?,
            fraction: fraction("fraction", value(f)?)?,
        },
    }))
}

//! The simulated world: [`Sim`], a bevy_ecs [`World`] holding the hot [`Core`] resource,
//! alert rules and faults as entities, and the telemetry and ground-truth resources. This file
//! owns building the world from a drill ([`Sim::new`] is the one function that turns a drill
//! spec into a world), running it ([`Sim::run_until`]) and reading it; the parts are split by
//! what they own:
//!
//! - [`news`]: what the team would notice, in order ([`News`]);
//! - [`alerts`]: alert rules and their evaluation at each bucket's end;
//! - [`truth`]: ground truth for scoring, recovery included;
//! - [`tick`]: the per-bucket schedule (close the bucket, evaluate alerts, track ground truth,
//!   refresh ramping effects);
//! - [`changes`]: faults and team actions, resolved and applied as changes.
//!
//! The event loop runs outside the schedule: [`Sim::run_until`] lets [`Core::run_hot`] handle
//! request events directly and only comes back to the world for ticks, faults and actions.

pub mod alerts;
pub mod changes;
pub mod news;
pub mod tick;
pub mod truth;

use bevy_ecs::prelude::*;

use super::core::StepRetryPolicy;
use super::core::{Core, CoreSpec, Kind, PoolInit, RetryPolicy, StepInit};
use super::rng::Seed;
use super::sampler::Sampler;
use super::traffic::ArrivalProcess;
use super::{RunOptions, SimTime};
use crate::drill::Duration;
use crate::drill::spec::{Condition, Drill, Hold, RetryOn, Severity, StepRetries};
use crate::drill::validate::limits::MAX_RPS;
use crate::telemetry::log::LogNotes;
use crate::telemetry::series::Signal;
pub use crate::telemetry::store::Telemetry;
pub use alerts::{AlertPhase, AlertRule, AlertState};
pub use changes::{ActionDef, ActionError, Actions, FaultRule, FaultState, Names, resolve_change};
pub use news::News;
pub use tick::Tick;
pub use truth::{RECOVERY_QUIET, Truth};

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
                    rate_limit: s.rate_limit.as_ref().map(|r| {
                        let rps = r.rps.clamp(0.0, MAX_RPS);
                        (rps, r.burst.map_or(rps.max(1.0), |b| b.clamp(1.0, MAX_RPS)))
                    }),
                    refusal_time: s
                        .rate_limit
                        .as_ref()
                        .map_or(Duration::ZERO, |r| r.refusal_time),
                    retries: s.retries.as_ref().map(step_retry_policy),
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
                retry_rejected: r.retry_rejected,
            }),
            log_sample: drill.telemetry.log_sample,
            log_limit: drill.telemetry.log_limit,
            eval_sample: drill.telemetry.eval_sample,
            autoscale_own: drill
                .pools
                .iter()
                .map(|p| {
                    p.autoscale.as_ref().map(|a| {
                        changes::autoscale_config(
                            a.target,
                            a.min,
                            a.max,
                            Some(a.every),
                            Some(a.ready_after),
                            Some(a.tolerance),
                            Some(a.down_window),
                        )
                    })
                })
                .collect(),
            autoscale_effects: drill
                .faults
                .iter()
                .flat_map(|f| f.all_effects())
                .chain(drill.actions.iter().flat_map(|a| a.all_effects()))
                .any(|e| matches!(e, crate::drill::spec::Effect::Autoscale { .. })),
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
        let mut truth = Truth::new(
            cause_alert,
            drill.shed_tolerance,
            drill.faults.len(),
            drill.alerts.len(),
        );
        truth.cause_fault = drill.faults.iter().map(|f| f.cause).collect();
        world.insert_resource(truth);
        world.insert_resource(Actions::new(
            drill
                .actions
                .iter()
                .map(|a| ActionDef {
                    name: a.name.clone(),
                    params: a.param_names().into_iter().map(str::to_owned).collect(),
                    delay: a.delay,
                    effects: a.all_effects().into_iter().cloned().collect(),
                })
                .collect(),
        ));
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

        world.add_schedule(tick::schedule());

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
                | Kind::WarmupEnds
                | Kind::StepRetry { .. }
                | Kind::Autoscale { .. } => {
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
}

/// A step's retries as the engine runs them.
fn step_retry_policy(r: &StepRetries) -> StepRetryPolicy {
    StepRetryPolicy {
        policy: RetryPolicy {
            max_attempts: u8::try_from(r.max_attempts.clamp(1, 10)).unwrap_or(10),
            backoff_nanos: r.backoff.as_nanos() as f64,
            multiplier: r.multiplier.max(1.0),
            jitter: r.jitter.clamp(0.0, 1.0),
            budget: r.budget.map(|b| b.max(0.0)),
            // A step's calls pass no admission: `on` says what it retries.
            retry_rejected: false,
        },
        on_errors: r.on.contains(&RetryOn::Errors),
        on_rate_limited: r.on.contains(&RetryOn::RateLimited),
        on_timeouts: r.on.contains(&RetryOn::Timeouts),
        hold: r.hold == Hold::Hold,
    }
}

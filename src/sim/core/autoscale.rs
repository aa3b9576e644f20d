//! Pool autoscalers, with the semantics of Kubernetes' HorizontalPodAutoscaler (v2): every
//! `every` (from the drill's start) an autoscaler reads the pool's utilization over the period
//! since its last decision and sizes the pool to keep it at `target`.
//!
//! Sizes: the *ordered* size is what the autoscaler last decided (Kubernetes' `spec.replicas`);
//! the *ready* size is what serves (growth becomes ready `ready_after` after it was ordered).
//! The ready size is the pool's base size (`baseline.pool_size`), so effects in force (a
//! fault's `PoolSize`, a restart's dip) still apply over it.
//!
//! A decision: utilization `u` = busy connections (leaked included) ÷ ready size, both
//! time-weighted over the period. Within the tolerance band (`|u ÷ target − 1| ≤ tolerance`)
//! the recommendation is the ordered size; otherwise it is `ceil(busy ÷ target)` (that is,
//! `ceil(ready × u ÷ target)`: as Kubernetes counts pods not yet ready at 0 % usage, growth
//! still pending is not ordered twice). A recommendation below the ordered size is raised to
//! the highest recommendation of the last `down_window` (the stabilization window); growth is
//! limited to `max(4, ordered)` connections per decision; the result is held within
//! [min, max]. A shrink takes effect at once (busy connections finish first: the pool hands
//! out no connection until fewer than its size are busy); growth is ready `ready_after` later.
//!
//! None of this is on a request's path: decisions and growth becoming ready are agenda entries
//! ([`Kind::Autoscale`]) scheduled only for pools with an autoscaler.

use std::collections::VecDeque;

use super::Core;
use super::events::Kind;
use crate::drill::Duration;
use crate::sim::SimTime;
use crate::sim::effects::Knob;
use crate::telemetry::log::{Level, LogKind, LogLine};

/// An autoscaler's settings, resolved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AutoscaleConfig {
    pub target: f64,
    pub min: u32,
    pub max: u32,
    pub every: Duration,
    pub ready_after: Duration,
    pub tolerance: f64,
    pub down_window: Duration,
}

/// A pool's autoscaler at work.
#[derive(Debug, Clone)]
pub struct Autoscaler {
    pub config: AutoscaleConfig,
    /// The size last ordered (ready or not).
    pub ordered: u32,
    /// Growth not ready yet: when, and the ready size it brings, in order.
    pending: VecDeque<(SimTime, u32)>,
    /// When the next decision is due.
    next_decision: SimTime,
    /// The busy and size integrals at the period's start, and that start.
    busy_mark: i128,
    size_mark: i128,
    period_start: SimTime,
    /// Recommendations of the last `down_window`, oldest first.
    history: VecDeque<(SimTime, u32)>,
}

/// One scale event, as the request log tells it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScaleEvent {
    pub at: SimTime,
    pub pool: usize,
    pub from: u32,
    pub to: u32,
    pub utilization: f64,
    pub period: Duration,
    pub target: f64,
}

impl Core {
    /// The autoscaler in force for pool `p`: the last `Autoscale` effect on it, else the
    /// pool's own.
    fn autoscale_config(&self, p: usize) -> Option<AutoscaleConfig> {
        self.effects
            .iter()
            .rev()
            .find_map(|e| match e.knob {
                Knob::Autoscale { pool, config } if pool == p => Some(config),
                _ => None,
            })
            .or(self.autoscale_own[p])
    }

    /// Turns autoscalers on, changes or turns them off as the effects in force say. Called
    /// whenever effects change, before the parameters are computed.
    pub(super) fn sync_autoscalers(&mut self) {
        if self.autoscalers.is_empty() {
            return;
        }
        for p in 0..self.pools.len() {
            let config = self.autoscale_config(p);
            match (config, &mut self.autoscalers[p]) {
                (None, slot @ Some(_)) => {
                    // Off: the pool keeps the size that is ready; pending growth is dropped.
                    *slot = None;
                }
                (Some(config), Some(a)) => {
                    if a.config.every == config.every {
                        a.config = config;
                    } else {
                        a.next_decision = next_multiple(self.now, config.every);
                        let at = a.next_decision;
                        a.config = config;
                        self.schedule(at, Kind::Autoscale { pool: p as u16 });
                    }
                }
                (Some(config), None) => self.start_autoscaler(p, config),
                (None, None) => {}
            }
        }
    }

    /// Turns pool `p`'s autoscaler on: it starts from the pool's size now, and action
    /// `PoolSize` effects on the pool are folded into that size (they no longer hold it).
    fn start_autoscaler(&mut self, p: usize, config: AutoscaleConfig) {
        let now = self.now;
        let size = self.baseline.with_effects(&self.effects, now).pool_size[p];
        self.effects.retain(|e| {
            !(matches!(e.knob, Knob::PoolSize { pool, .. } if pool == p)
                && matches!(e.source, super::Source::Action(_))
                && e.until.is_none())
        });
        self.baseline.pool_size[p] = size;
        let next_decision = next_multiple(now, config.every);
        let pool = &self.pools[p];
        self.autoscalers[p] = Some(Autoscaler {
            config,
            ordered: size,
            pending: VecDeque::new(),
            next_decision,
            busy_mark: pool.busy.area(now),
            size_mark: pool.sized.area(now),
            period_start: now,
            history: VecDeque::new(),
        });
        self.schedule(next_decision, Kind::Autoscale { pool: p as u16 });
    }

    /// A `PoolSize` action on an autoscaled pool: sets the size at once, and the autoscaler
    /// goes on from there (as `kubectl scale` under an HPA). Returns whether it was taken so.
    pub fn scale_by_hand(&mut self, p: usize, size: u32) -> bool {
        let Some(a) = self.autoscalers.get_mut(p).and_then(Option::as_mut) else {
            return false;
        };
        a.ordered = size;
        a.pending.clear();
        self.baseline.pool_size[p] = size;
        true
    }

    /// An autoscaler's agenda entry: growth due by now becomes ready, and the decision is
    /// taken if it is due (an entry left from an earlier schedule does only what is due).
    pub(super) fn on_autoscale(&mut self, p: usize) {
        let now = self.now;
        let Some(a) = self.autoscalers[p].as_mut() else {
            return;
        };
        let mut ready = None;
        while let Some(&(at, size)) = a.pending.front() {
            if at > now {
                break;
            }
            a.pending.pop_front();
            ready = Some(size);
        }
        let decide = a.next_decision <= now;
        if let Some(size) = ready {
            self.baseline.pool_size[p] = size;
        }
        if decide {
            self.decide(p);
        }
        if ready.is_some() || decide {
            self.refresh_effects();
        }
    }

    /// Pool `p`'s autoscaler decides.
    fn decide(&mut self, p: usize) {
        let now = self.now;
        let pool = &self.pools[p];
        let (busy_area, size_area) = (pool.busy.area(now), pool.sized.area(now));
        let ready = self.baseline.pool_size[p];
        let a = self.autoscalers[p].as_mut().expect("an autoscaler decides");
        let c = a.config;
        let period = now.since(a.period_start);
        let (busy, sized) = (busy_area - a.busy_mark, size_area - a.size_mark);
        a.busy_mark = busy_area;
        a.size_mark = size_area;
        a.period_start = now;
        a.next_decision = now.after(c.every);
        let next = a.next_decision;
        self.schedule(next, Kind::Autoscale { pool: p as u16 });
        let a = self.autoscalers[p].as_mut().expect("an autoscaler decides");
        if sized <= 0 {
            // No connection served over the period: no metric, no decision.
            return;
        }
        let utilization = busy as f64 / sized as f64;
        let ratio = utilization / c.target;
        let recommended = if (ratio - 1.0).abs() <= c.tolerance {
            a.ordered
        } else {
            // ready × u ÷ target, the ready size time-weighted over the period: the mean
            // number of busy connections over the target.
            let mean_busy = busy as f64 / period.as_nanos().max(1) as f64;
            ceil_count(mean_busy / c.target)
        };
        a.history.push_back((now, recommended));
        while a
            .history
            .front()
            .is_some_and(|&(at, _)| at.after(c.down_window) <= now)
        {
            a.history.pop_front();
        }
        let from = a.ordered;
        let mut desired = recommended;
        if desired < from {
            let highest = a.history.iter().map(|&(_, r)| r).max().unwrap_or(desired);
            desired = highest.min(from).max(desired);
        }
        if desired > from {
            desired = desired.min(from.saturating_add(from.max(4)));
        }
        let desired = desired.clamp(c.min, c.max.max(c.min));
        if desired == from {
            return;
        }
        a.ordered = desired;
        if desired < from {
            // Growth still pending brings the pool up to the new size at most.
            for (_, size) in &mut a.pending {
                *size = (*size).min(desired);
            }
            let serving = ready.min(desired);
            self.baseline.pool_size[p] = serving;
        } else if c.ready_after.is_zero() {
            a.pending.clear();
            self.baseline.pool_size[p] = desired;
        } else {
            let at = now.after(c.ready_after);
            a.pending.push_back((at, desired));
            self.schedule(at, Kind::Autoscale { pool: p as u16 });
        }
        self.log_scale(ScaleEvent {
            at: now,
            pool: p,
            from,
            to: desired,
            utilization,
            period,
            target: c.target,
        });
    }

    /// Writes a scale event into the request log (kept whatever the sampling: it is rare).
    fn log_scale(&mut self, e: ScaleEvent) {
        let name = self.pools[e.pool].name.clone();
        let text = format!(
            "scaled {name} {} → {} (utilization {:.2} over {}, target {})",
            e.from, e.to, e.utilization, e.period, e.target
        );
        self.log.lines.push(LogLine {
            at_nanos: e.at.nanos(),
            level: Level::Info,
            request: 0,
            kind: LogKind::Scaled,
            step: None,
            pool: Some(name),
            latency_seconds: 0.0,
            wait_seconds: 0.0,
            notes: vec![text],
            hit_faults: 0,
        });
    }
}

/// The first multiple of `every` after `now` (decisions fall on multiples from the start).
fn next_multiple(now: SimTime, every: Duration) -> SimTime {
    let every = every.as_nanos().max(1);
    SimTime::from_nanos((now.nanos() / every + 1).saturating_mul(every))
}

/// The ceiling of a count, rid of float noise (20 × 0.7 ÷ 0.7 is 20, not 21).
fn ceil_count(x: f64) -> u32 {
    let rounded = x.round();
    let x = if (x - rounded).abs() < 1e-9 {
        rounded
    } else {
        x.ceil()
    };
    x.clamp(0.0, f64::from(u32::MAX)) as u32
}

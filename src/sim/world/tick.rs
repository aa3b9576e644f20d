//! The tick: the schedule of chained systems that runs once per metric bucket (close the
//! bucket into telemetry, evaluate alerts, track ground truth, refresh ramping effects), and
//! how [`super::Sim`] runs it and gathers the news it wrote.
//!
//! The systems it chains live with what they own ([`super::alerts`], [`super::truth`]).

// bevy systems take their parameters (`Res`, `Query`) by value.
#![allow(clippy::needless_pass_by_value)]

use bevy_ecs::prelude::*;

use super::Sim;
use super::alerts::evaluate_alerts;
use super::news::News;
use super::truth::{Truth, track_truth};
use crate::sim::SimTime;
use crate::sim::core::{Core, Kind};
use crate::telemetry::store::Telemetry;

/// The schedule that runs at the end of every bucket.
#[derive(bevy_ecs::schedule::ScheduleLabel, Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tick;

/// The tick's systems, in order.
pub(super) fn schedule() -> Schedule {
    let mut tick = Schedule::new(Tick);
    tick.add_systems((close_bucket, evaluate_alerts, track_truth, refresh_effects).chain());
    tick
}

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
fn refresh_effects(mut core: ResMut<Core>) {
    if !core.effects.is_empty() {
        core.refresh_effects();
    }
}

impl Sim {
    pub(super) fn tick(&mut self, time: SimTime) {
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
}

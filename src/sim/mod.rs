//! The discrete-event engine: it plays the production system — traffic, the service's steps,
//! connection pools, faults and the team's actions — in simulated time.
//!
//! The core does no I/O and never reads the wall clock: time is integer nanoseconds
//! ([`SimTime`]) and every random draw comes from a named stream of the drill's seed
//! ([`rng`]). Same drill, seed and inputs give the same run, bit for bit.
//!
//! Layout: [`core`] holds the hot per-request state and handlers, ordered by the
//! [`agenda`]'s heap; [`world`] wraps it in a
//! bevy_ecs world with alerts and faults as entities and a per-bucket schedule; [`traffic`],
//! [`sampler`] and [`effects`] are the model's parts; [`summary`] is what a run reports.

pub mod agenda;
pub mod attribution;
pub mod core;
pub mod effects;
pub mod rng;
pub mod sampler;
pub mod summary;
pub mod traffic;
pub mod world;

pub use crate::drill::SimTime;
pub use summary::{AlertSummary, Latency, PoolSummary, RequestSummary, StepSummary, Summary};
pub use world::{ActionError, News, Sim};

use crate::drill::{Drill, Duration};

/// How to run a drill, beyond what the drill itself says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunOptions {
    /// Overrides the drill's seed.
    pub seed: Option<u64>,
    /// Overrides the drill's duration.
    pub duration: Option<Duration>,
    /// Requests arriving before this are left out of every statistic.
    pub warmup: Duration,
    /// Runs without the drill's faults.
    pub no_faults: bool,
    /// Runs without this one fault (by its index in the drill): a counterfactual run for
    /// attribution.
    pub leave_out_fault: Option<usize>,
    /// The page alerts (by index in the drill) attributed to a cause fault, which `Recovered`
    /// and the first cause page watch; `None` watches every page alert.
    pub cause_alerts: Option<Vec<usize>>,
}

/// Runs `drill` with no team to its end and summarises the run. `wall_seconds` and
/// `events_per_second` are left out: timing is the caller's business.
#[must_use]
pub fn simulate(drill: &Drill, options: &RunOptions) -> Summary {
    let mut sim = Sim::new(drill, options);
    sim.run_to_end();
    Summary::of(&sim, drill)
}

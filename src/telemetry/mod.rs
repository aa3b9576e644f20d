//! Telemetry: what an operator can see of the simulated system. Latency histograms,
//! metric buckets with the values alert conditions saw, and the request log, kept together
//! in the [`store::Telemetry`] store.
//!
//! These are passive data structures; the engine ([`crate::sim`]) fills them and evaluates
//! alerts over them. Nothing here imports the engine: only [`crate::drill`] (durations,
//! instants, the spec's names) and this module's own parts.

pub mod histogram;
pub mod log;
pub mod observed;
pub mod prometheus;
pub mod series;
pub mod store;

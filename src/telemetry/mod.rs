//! Telemetry: what an operator can see of the simulated system. Latency histograms,
//! metric buckets with the values alert conditions saw, and the request log.
//!
//! These are passive data structures; the engine ([`crate::sim`]) fills them and evaluates
//! alerts over them.

pub mod histogram;
pub mod log;
pub mod observed;
pub mod prometheus;
pub mod series;

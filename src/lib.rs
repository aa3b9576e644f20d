//! firedrill: game days for teams that run AI agents in production.
//!
//! [`drill`] reads and checks drill files; [`sim`] plays the system they describe;
//! [`telemetry`] is what the team can see of it.

pub mod app;
pub mod cli;
pub mod drill;
pub mod report;
pub mod score;
pub mod session;
pub mod sim;
pub mod telemetry;

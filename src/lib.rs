//! firedrill: game days for teams that run AI agents in production.
//!
//! [`drill`] reads and checks drill files; [`sim`] plays the system they describe;
//! [`telemetry`] is what the team can see of it; [`calibrate`] checks a drill across seeds.

pub mod app;
pub mod calibrate;
pub mod cli;
pub mod drill;
pub mod export;
pub mod files;
pub mod fit;
pub mod front;
pub mod history;
pub mod paths;
pub mod report;
pub mod sanitize;
pub mod score;
pub mod session;
pub mod sim;
pub mod telemetry;
pub mod whatif;

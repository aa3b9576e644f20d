//! firedrill: game days for teams that run AI agents in production.
#![forbid(unsafe_code)]

pub mod drill;

//! The one integration-test binary: every module is a family of data-driven checks.

mod browser;
mod calibrate;
mod causes;
mod check;
mod debrief;
mod drills;
mod effects;
mod invariants;
mod prometheus;
mod queueing;
mod session;
mod theory;

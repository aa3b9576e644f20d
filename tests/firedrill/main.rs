//! The one integration-test binary: every module is a family of data-driven checks.

mod bounds;
mod browser;
mod calibrate;
mod causes;
mod check;
mod debrief;
mod drills;
mod effects;
mod fuzz_session;
mod history;
mod hostile;
mod invariants;
mod observe;
mod paths;
mod prometheus;
mod queueing;
mod session;
mod theory;
mod tools;

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
mod hostile;
mod invariants;
mod observe;
mod paths;
mod prometheus;
mod queueing;
mod serve;
mod serve_browser;
mod session;
mod theory;
mod tools;

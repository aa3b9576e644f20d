//! The one integration-test binary: every module is a family of data-driven checks.

mod check;
mod effects;
mod debrief;
mod queueing;
mod session;
mod theory;

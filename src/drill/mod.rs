//! The drill file format: spec types ([`spec`]), durations ([`duration`]) and instants of
//! simulated time ([`time`]), loading with diagnostics ([`load`]), semantic validation
//! ([`validate`]) and `firedrill check` ([`check`]), and how a diagnosis is matched against
//! the root cause ([`diagnosis`]).
//!
//! Nothing here simulates; the engine reads a validated [`spec::Drill`].

pub mod change;
pub mod check;
mod cst;
pub mod describe;
pub mod diagnosis;
pub mod duration;
pub mod library;
pub mod load;
pub mod log_target;
pub mod spec;
pub(crate) mod suggest;
pub mod time;
pub mod validate;
pub mod warnings;

pub use duration::{ClockTime, Duration};
pub use load::{LoadError, Problem, load_file, load_str};
pub use spec::Drill;
pub use time::SimTime;

/// RON options every drill is read with: `implicit_some` is on by default.
#[must_use]
pub fn ron_options() -> ron::Options {
    ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
}

/// Parses a drill's text without the full diagnostics (used for embedded drills and tests).
///
/// # Errors
/// ron's first error, with its position.
pub fn parse_str(text: &str) -> Result<Drill, ron::error::SpannedError> {
    ron_options().from_str(text)
}

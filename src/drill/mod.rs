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

/// An incident severity as the team writes it (`sev2`, `SEV-2`, `2`): 1 (worst) to 5.
#[must_use]
pub fn severity(word: &str) -> Option<u8> {
    let word = word.to_lowercase();
    let digits = word.trim_start_matches("sev").trim_start_matches('-');
    digits.parse::<u8>().ok().filter(|n| (1..=5).contains(n))
}

/// A checklist's `Command("declare sev2")` read as the command's name and, for `declare`, the
/// severity it asks for (`None`: any). Anything else after the name is `Err` with the name.
///
/// # Errors
/// The name, when the text has words after it that are not one severity for `declare`.
pub fn done_command(text: &str) -> Result<(&str, Option<u8>), &str> {
    let mut words = text.split_whitespace();
    let name = words.next().unwrap_or("");
    let rest: Vec<&str> = words.collect();
    match rest.as_slice() {
        [] => Ok((name, None)),
        [sev] if name == "declare" => severity(sev).map(|s| (name, Some(s))).ok_or(name),
        _ => Err(name),
    }
}

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

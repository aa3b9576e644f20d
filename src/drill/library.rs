//! The drills built into the binary, so `firedrill run` works with no file at hand.

/// `(name, RON text)` of every built-in drill; the first is the default.
pub const BUILTIN: &[(&str, &str)] =
    &[("monday-rush", include_str!("../../drills/monday-rush.ron"))];

/// The built-in drill called `name`.
#[must_use]
pub fn builtin(name: &str) -> Option<&'static str> {
    BUILTIN
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

//! Outside programs some tests need (promtool, a headless Chromium). On a machine without
//! one, the test that needs it says so on standard error and passes, so that `cargo test`
//! passes on a fresh machine with only Rust; with `FIREDRILL_REQUIRE_TOOLS=1` (as CI sets
//! after installing them) a missing program fails the test instead.

use std::io::Write;
use std::process::Command;

/// The variable that turns a skip into a failure.
pub const REQUIRE: &str = "FIREDRILL_REQUIRE_TOOLS";

/// Whether a missing program must fail the test.
fn required() -> bool {
    std::env::var(REQUIRE).is_ok_and(|v| v == "1")
}

/// Whether `program --version` runs.
fn runs(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The first of `candidates` that runs; when none does, says the test `test` is skipped
/// (how to install `package`) and returns `None`, or fails under `FIREDRILL_REQUIRE_TOOLS=1`.
pub fn find(test: &str, candidates: &[&'static str], package: &str) -> Option<&'static str> {
    if let Some(found) = candidates.iter().copied().find(|p| runs(p)) {
        return Some(found);
    }
    let name = candidates.first().copied().unwrap_or("a program");
    assert!(
        !required(),
        "{test}: {name} not found, and {REQUIRE}=1 requires it; install {package} to run it"
    );
    // Straight to standard error, past the test harness's capture, so that a passing
    // `cargo test` still shows what it skipped.
    let line = format!("{test}: skipped: {name} not found; install {package} to run it\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
    None
}

/// promtool, from Debian's `prometheus` package.
pub fn promtool(test: &str) -> Option<&'static str> {
    find(
        test,
        &["promtool"],
        "promtool (apt-get install -y prometheus)",
    )
}

/// Alertmanager, from Debian's `prometheus-alertmanager` package (which names it so).
pub fn alertmanager(test: &str) -> Option<&'static str> {
    find(
        test,
        &["prometheus-alertmanager", "alertmanager"],
        "prometheus-alertmanager (apt-get install -y prometheus-alertmanager)",
    )
}

/// A headless Chromium.
pub fn chromium(test: &str) -> Option<&'static str> {
    find(
        test,
        &["chromium", "chromium-browser", "google-chrome"],
        "chromium (apt-get install -y chromium)",
    )
}

#[test]
fn a_missing_tool_is_skipped_unless_tools_are_required() {
    // A program that cannot exist: found only when required, which must fail instead.
    if required() {
        let result = std::panic::catch_unwind(|| {
            find(
                "tools self-test (expected)",
                &["firedrill-no-such-program"],
                "nothing",
            )
        });
        assert!(
            result.is_err(),
            "a missing tool must fail under {REQUIRE}=1"
        );
    } else {
        assert_eq!(
            find(
                "tools self-test (expected)",
                &["firedrill-no-such-program"],
                "nothing"
            ),
            None
        );
    }
}

//! The one integration-test binary: every module is a family of data-driven checks.

mod alertmanager;
mod autoscale;
mod bounds;
mod browser;
mod calibrate;
mod causes;
mod check;
mod checklists;
mod debrief;
mod drills;
mod effects;
mod fit;
mod fit_library;
mod fuzz_session;
mod harm;
mod history;
mod hostile;
mod invariants;
mod layers;
mod observe;
mod paths;
mod postmortem;
mod prevention;
mod prometheus;
mod queueing;
mod ratelimit;
mod scripted;
mod serve;
mod serve_browser;
mod serve_prevent;
mod session;
mod theory;
mod tools;
mod words;

/// A fresh, empty directory for one test's files: `family/name` under the target directory
/// (never the system's temporary directory, which the test runs would otherwise litter).
pub fn scratch_dir(family: &str, name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(family)
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

/// A path for file `name` in this test process's directory for `family`, under the target
/// directory (one directory per process, so test processes running at once never share a
/// file, and a test's files stay for a look after it failed).
pub fn temp_file(family: &str, name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{family}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

//! The drill library (issue 5), data-driven over every drill in `drills/`: each passes
//! `check` and says what it teaches; on several seeds its reference response recovers (every
//! page resolved) and no response does not; and the retry storm is metastable: with no response
//! it stays broken long after its one-minute trigger, and the reference recovers only once its
//! throttle sheds load.

use std::path::{Path, PathBuf};

use firedrill::drill::spec::Severity;
use firedrill::drill::{Drill, Duration, load_file};
use firedrill::session::Session;
use firedrill::session::play::{Step, play};
use firedrill::session::team::Detail;
use firedrill::sim::SimTime;
use firedrill::sim::world::AlertPhase;
use firedrill::telemetry::series::Bucket;

const SEEDS: [u64; 3] = [1, 2, 3];

/// Every `drills/*.ron` (not the queueing references under `drills/reference/`), sorted.
fn drill_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("drills");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("drills/ is readable")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "ron"))
        .collect();
    files.sort();
    files
}

fn load(path: &Path) -> Drill {
    load_file(path).unwrap_or_else(|e| panic!("{} does not load: {e:?}", path.display()))
}

fn drills() -> Vec<(String, Drill)> {
    drill_files()
        .iter()
        .map(|p| (p.display().to_string(), load(p)))
        .collect()
}

fn first_fault_start(drill: &Drill) -> SimTime {
    drill
        .faults
        .iter()
        .map(|f| SimTime::from(f.at))
        .min()
        .expect("a drill has a fault")
}

/// Page alerts still firing at the end of the session.
fn unresolved_pages(session: &Session) -> Vec<String> {
    session
        .sim()
        .alert_states()
        .iter()
        .filter(|(rule, state)| {
            rule.severity == Severity::Page && state.phase == AlertPhase::Firing
        })
        .map(|(rule, _)| rule.name.clone())
        .collect()
}

/// The drill played with its reference response; every line plays and is accepted.
fn reference_session(drill: &Drill, seed: u64) -> Session {
    let mut session = Session::new(drill.clone(), Some(seed));
    let mut refused = Vec::new();
    let never = play(&mut session, &drill.reference, &mut |_, step| {
        if let Step::Refused { input, error, .. } = step {
            refused.push(format!("{input}: {error}"));
        }
    });
    let name = &drill.name;
    assert!(
        refused.is_empty(),
        "{name} seed {seed}: refused {refused:?}"
    );
    assert!(
        never.is_empty(),
        "{name} seed {seed}: reference lines {never:?} never played"
    );
    session
}

fn silent_session(drill: &Drill, seed: u64) -> Session {
    let mut session = Session::new(drill.clone(), Some(seed));
    let end = session.sim().end();
    session.advance_to(end);
    session
}

#[test]
fn every_drill_checks_and_says_what_it_teaches() {
    let files = drill_files();
    assert!(
        files.len() >= 12,
        "monday-rush and at least eleven more drills: {files:?}"
    );
    for path in &files {
        let drill = load(path);
        let text = std::fs::read_to_string(path).expect("readable");
        let header: Vec<&str> = text
            .lines()
            .take_while(|l| l.trim_start().starts_with("//"))
            .collect();
        let name = path.display();
        if drill.name != "monday-rush" {
            assert!(
                header.iter().any(|l| l.contains("// Teaches: ")),
                "{name}: header has no `// Teaches:` line"
            );
            assert!(
                header.iter().any(|l| {
                    l.strip_prefix("// Difficulty: ")
                        .and_then(|d| d.strip_suffix("/5"))
                        .and_then(|n| n.parse::<u8>().ok())
                        .is_some_and(|n| (1..=5).contains(&n))
                }),
                "{name}: header has no `// Difficulty: N/5` line"
            );
        }
        assert_eq!(
            path.file_stem().and_then(|s| s.to_str()),
            Some(drill.name.as_str()),
            "{name}: the file is named after the drill"
        );
        assert!(!drill.reference.is_empty(), "{name}: a reference response");
        assert!(!drill.debrief.is_empty(), "{name}: debrief questions");
        assert!(drill.root_cause.is_some(), "{name}: a root cause");
        assert!(drill.objectives.is_some(), "{name}: objectives");
        assert!(
            !drill.wrong_responses.is_empty(),
            "{name}: at least one wrong response"
        );
        for role in ["ic", "ops"] {
            assert!(
                drill
                    .roles
                    .iter()
                    .any(|r| r.id == role && !r.checklist.is_empty()),
                "{name}: role {role} with a checklist"
            );
        }
        for severity in [Severity::Page, Severity::Ticket] {
            assert!(
                drill.alerts.iter().any(|a| a.severity == severity),
                "{name}: a {severity:?} alert"
            );
        }
    }
}

#[test]
fn reference_response_recovers_on_several_seeds() {
    for (name, drill) in drills() {
        let fault = first_fault_start(&drill);
        for seed in SEEDS {
            let session = reference_session(&drill, seed);
            let truth = session.sim().truth();
            let page = truth
                .first_page
                .unwrap_or_else(|| panic!("{name} seed {seed}: the reference run never paged"));
            assert!(
                page >= fault,
                "{name} seed {seed}: paged at {page:?}, before the fault at {fault:?}"
            );
            assert!(
                truth.recovered.is_some(),
                "{name} seed {seed}: the reference response does not recover"
            );
            let unresolved = unresolved_pages(&session);
            assert!(
                unresolved.is_empty(),
                "{name} seed {seed}: pages still firing at the end: {unresolved:?}"
            );
        }
    }
}

#[test]
fn no_response_does_not_recover() {
    for (name, drill) in drills() {
        for seed in SEEDS {
            let session = silent_session(&drill, seed);
            let truth = session.sim().truth();
            assert!(
                truth.first_page.is_some(),
                "{name} seed {seed}: with no response the fault never pages"
            );
            // A cause that ends by itself (a vendor that comes back) may let the system recover
            // after it ends; while any cause is in effect, it must not.
            let causes_over = drill
                .faults
                .iter()
                .enumerate()
                .filter(|(_, f)| f.cause)
                .map(|(i, _)| truth.fault_ended[i])
                .try_fold(SimTime::ZERO, |last, end| end.map(|e| last.max(e)));
            // A system that scales itself (an autoscaled pool) may heal on its own while the
            // cause lasts, when the capacity it ordered comes up: there the team must matter by
            // time, recovering well before the system would alone.
            if drill.pools.iter().any(|p| p.autoscale.is_some())
                && let Some(alone) = truth.recovered
            {
                let with_team = reference_session(&drill, seed)
                    .sim()
                    .truth()
                    .recovered
                    .unwrap_or_else(|| {
                        panic!("{name} seed {seed}: the reference does not recover")
                    });
                assert!(
                    alone.as_secs_f64() >= with_team.as_secs_f64() + 300.0,
                    "{name} seed {seed}: with no response it recovers at {alone:?}, not 5 minutes after the reference ({with_team:?})"
                );
                continue;
            }
            match causes_over {
                None => {
                    assert!(
                        truth.recovered.is_none(),
                        "{name} seed {seed}: recovered at {:?} with no response",
                        truth.recovered
                    );
                    assert!(
                        !unresolved_pages(&session).is_empty(),
                        "{name} seed {seed}: no page is firing at the end with no response"
                    );
                }
                Some(over) => assert!(
                    truth.recovered.is_none_or(|r| r >= over),
                    "{name} seed {seed}: recovered at {:?} with no response, before its causes ended at {over:?}",
                    truth.recovered
                ),
            }
        }
    }
}

// --- the metastable retry storm ---

const RETRY_STORM: &str = "drills/retry-storm.ron";

/// Failed and rejected requests over requests finished, in one bucket.
fn error_ratio(b: &Bucket) -> f64 {
    let bad = b.failed + b.rejected;
    let finished = bad + b.completed;
    if finished == 0 {
        0.0
    } else {
        bad as f64 / finished as f64
    }
}

/// Overloaded: most requests fail and the pool's queue times requests out.
fn overloaded(b: &Bucket) -> bool {
    error_ratio(b) > 0.5 && b.pools[0].timeouts > 0
}

fn healthy(b: &Bucket) -> bool {
    error_ratio(b) < 0.05 && b.pools[0].timeouts == 0
}

fn buckets_between(session: &Session, from: SimTime, to: SimTime) -> Vec<Bucket> {
    let (from, to) = (from.as_secs_f64(), to.as_secs_f64());
    session
        .sim()
        .telemetry()
        .buckets()
        .iter()
        .filter(|b| b.start >= from && b.start + b.width <= to)
        .cloned()
        .collect()
}

fn storm() -> Drill {
    load(&Path::new(env!("CARGO_MANIFEST_DIR")).join(RETRY_STORM))
}

/// When the short trigger ended, checked to be short.
fn trigger_end(session: &Session) -> SimTime {
    let truth = session.sim().truth();
    let (started, ended) = (truth.fault_started[0], truth.fault_ended[0]);
    let (started, ended) = (
        started.expect("the trigger starts"),
        ended.expect("the trigger ends by itself"),
    );
    assert!(
        ended.since(started).as_secs_f64() <= 120.0,
        "the trigger lasts at most two minutes"
    );
    ended
}

#[test]
fn retry_storm_stays_broken_after_its_trigger_until_load_is_shed() {
    let drill = storm();
    for seed in SEEDS {
        // No response: overloaded in every bucket from five minutes after the trigger to the end.
        let session = silent_session(&drill, seed);
        let after = trigger_end(&session).after(Duration::from_secs(300));
        let end = session.sim().end();
        let buckets = buckets_between(&session, after, end);
        assert!(
            buckets.len() as f64 * 10.0 >= end.since(after).as_secs_f64() - 20.0,
            "seed {seed}: every bucket after the trigger is checked"
        );
        for b in &buckets {
            assert!(
                overloaded(b),
                "seed {seed}: not overloaded at {} s with no response (error ratio {:.2}, {} timeouts)",
                b.start,
                error_ratio(b),
                b.pools[0].timeouts
            );
        }

        // The reference: still overloaded after the trigger until its throttle lands; healthy
        // after; recovered only after the throttle.
        let session = reference_session(&drill, seed);
        let trigger = trigger_end(&session);
        let lands = session
            .team()
            .first("throttle")
            .map(|e| match e.detail {
                Detail::Ordered { lands } => lands,
                ref other => panic!("throttle was ordered, not {other:?}"),
            })
            .expect("the reference throttles");
        let settled = trigger.after(Duration::from_secs(60));
        let before = buckets_between(&session, settled, lands);
        assert!(
            !before.is_empty(),
            "seed {seed}: the throttle lands well after the trigger ends"
        );
        for b in &before {
            assert!(
                overloaded(b),
                "seed {seed}: not overloaded at {} s, before the throttle landed at {:?}",
                b.start,
                lands
            );
        }
        let recovered = session
            .sim()
            .truth()
            .recovered
            .expect("the reference recovers");
        assert!(
            recovered > lands,
            "seed {seed}: recovered at {recovered:?}, before the throttle landed at {lands:?}"
        );
        let last = buckets_between(
            &session,
            SimTime::from_secs_f64(end.as_secs_f64() - 600.0),
            end,
        );
        assert!(
            last.iter().all(healthy),
            "seed {seed}: the last ten minutes of the reference run are healthy"
        );
    }
}

/// The control: without client retries, the same one-minute trigger leaves no lasting damage.
#[test]
fn without_retries_the_same_trigger_passes() {
    let mut drill = storm();
    drill.service.retries = None;
    for seed in SEEDS {
        let session = silent_session(&drill, seed);
        let after = trigger_end(&session).after(Duration::from_secs(60));
        let end = session.sim().end();
        let buckets = buckets_between(&session, after, end);
        assert!(!buckets.is_empty());
        for b in &buckets {
            assert!(
                healthy(b),
                "seed {seed}: without retries, still unhealthy at {} s (error ratio {:.2})",
                b.start,
                error_ratio(b)
            );
        }
    }
}

//! The verdicts of a calibration: each check ([`Check`]) against its limit (alerts fire or stay
//! quiet as expected, no early pages, faults page as expected, the reference recovers and helps,
//! each wrong response fails), with the message and what to change in the drill.
//!
//! It does not compute the figures it judges (`stats` does).

use serde::{Deserialize, Serialize};

use super::stats::{AlertStats, FaultStats, ReferenceStats, Share, WrongStats};
use crate::drill::spec::Expect;

/// An alert expected to fire should fire in at least this many percent of the runs with no
/// team.
pub const ALERT_FIRES_MIN: u64 = 95;
/// An alert expected to stay quiet may fire in at most this many percent of them.
pub const ALERT_QUIET_MAX: u64 = 5;
/// At most this many percent of the runs with no team may page before any fault.
pub const EARLY_PAGE_MAX: u64 = 5;
/// A fault expected to page (a cause, by default) should have a page attributed to it in at
/// least this many percent of the runs with no team.
pub const FAULT_PAGES_MIN: u64 = 95;
/// A fault expected not to page may have a page attributed to it in at most this many percent.
pub const FAULT_QUIET_MAX: u64 = 5;
/// The reference response should recover in at least this many percent of the runs.
pub const REFERENCE_RECOVERS_MIN: u64 = 90;
/// The reference response should harm fewer users than no team in at least this many percent
/// of the runs.
pub const REFERENCE_HELPS_MIN: u64 = 95;
/// A wrong response should score below the reference in at least this many percent of the runs.
pub const WRONG_SCORES_BELOW_MIN: u64 = 95;
/// A wrong response may recover in at most this many percent of the runs.
pub const WRONG_RECOVERS_MAX: u64 = 5;

/// What a verdict checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// An alert expected to fire does so in at least 95% of the runs with no team.
    AlertFires,
    /// An alert expected to stay quiet fires in at most 5% of them.
    AlertQuiet,
    /// A page before any fault in at most 5% of the runs with no team.
    EarlyPage,
    /// A cause fault pages (a page alert is attributed to it) in at least 95% of the runs with
    /// no team, or as its `expect` says.
    CausePaged,
    /// A distraction pages as its `expect` says (by default it may or may not).
    DistractionPages,
    /// The reference response recovers in at least 90% of the runs.
    ReferenceRecovers,
    /// The reference response harms fewer users than no team in at least 95% of the runs.
    ReferenceHelps,
    /// A wrong response scores below the reference in at least 95% of the runs and recovers
    /// in at most 5%.
    WrongResponseFails,
}

/// One check of the drill, passed or failed, with what to do about a failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub check: Check,
    /// The alert or fault it is about, if any.
    pub subject: Option<String>,
    pub observed: Share,
    pub pass: bool,
    /// `DbPoolSaturated fires in 80% of runs (needs at least 95%)`.
    pub message: String,
    /// What to change in the drill when it fails.
    pub hint: String,
}

pub(super) fn verdicts(
    alerts: &[AlertStats],
    faults: &[FaultStats],
    early_pages: Share,
    reference: Option<&ReferenceStats>,
) -> Vec<Verdict> {
    let mut out = Vec::new();
    for a in alerts {
        if a.expect == Expect::Quiet.as_str() {
            out.push(Verdict {
                check: Check::AlertQuiet,
                subject: Some(a.name.clone()),
                observed: a.fired,
                pass: a.fired.at_most(ALERT_QUIET_MAX),
                message: format!(
                    "alert {} fires in {} of runs with no team (expected quiet: at most {ALERT_QUIET_MAX}%)",
                    a.name,
                    a.fired.percent()
                ),
                hint: "raise its threshold or lengthen its `for` so the drill's fault does not \
                       trip it, or write `expect: Either` if it may fire"
                    .to_owned(),
            });
            continue;
        }
        if a.expect == Expect::Either.as_str() {
            continue;
        }
        out.push(Verdict {
            check: Check::AlertFires,
            subject: Some(a.name.clone()),
            observed: a.fired,
            pass: a.fired.at_least(ALERT_FIRES_MIN),
            message: format!(
                "alert {} fires in {} of runs with no team (needs at least {ALERT_FIRES_MIN}%)",
                a.name,
                a.fired.percent()
            ),
            hint: "lower its threshold or its `for`, or make the fault stronger or earlier, so \
                   the team reliably sees it"
                .to_owned(),
        });
    }
    out.push(Verdict {
        check: Check::EarlyPage,
        subject: None,
        observed: early_pages,
        pass: early_pages.at_most(EARLY_PAGE_MAX),
        message: format!(
            "a page fires before any fault in {} of runs with no team (allows at most {EARLY_PAGE_MAX}%)",
            early_pages.percent()
        ),
        hint: "the baseline already breaches a page alert: raise its threshold, lengthen its \
               `for`, or give the system more headroom before the fault"
            .to_owned(),
    });
    for f in faults {
        out.push(fault_verdict(f));
    }
    match reference {
        Some(r) => out.push(Verdict {
            check: Check::ReferenceRecovers,
            subject: None,
            observed: r.recovered,
            pass: r.recovered.at_least(REFERENCE_RECOVERS_MIN),
            message: format!(
                "the reference response recovers in {} of runs (needs at least {REFERENCE_RECOVERS_MIN}%)",
                r.recovered.percent()
            ),
            hint: "strengthen the reference response (act sooner or harder), or check its \
                   anchors: a line anchored on FirstPage never plays when nothing pages"
                .to_owned(),
        }),
        None => out.push(Verdict {
            check: Check::ReferenceRecovers,
            subject: None,
            observed: Share::count(std::iter::empty()),
            pass: false,
            message: "the drill has no reference response, so nothing shows it can be won"
                .to_owned(),
            hint: "add a `reference: [Say(...), ...]` list that mitigates the fault".to_owned(),
        }),
    }
    out
}

/// Whether a fault pages as its `expect` says: a page attributed to it (fired with it, and
/// not with it left out) in at least 95% of the runs with no team, in at most 5%, or either.
fn fault_verdict(f: &FaultStats) -> Verdict {
    let (check, what) = if f.cause {
        (
            Check::CausePaged,
            format!("the cause `{}` is paged", f.name),
        )
    } else {
        (
            Check::DistractionPages,
            format!("the distraction `{}` pages", f.name),
        )
    };
    let (pass, needs, hint) = match f.expect.as_str() {
        "quiet" => (
            f.paged.at_most(FAULT_QUIET_MAX),
            format!("expected quiet: at most {FAULT_QUIET_MAX}%"),
            "a page alert fires because of it: make it milder, raise that alert's threshold, \
             or write `expect: Either` on the fault if it may page"
                .to_owned(),
        ),
        "either" => (true, "it may or may not".to_owned(), String::new()),
        _ if !f.started.at_least(100) => (
            f.paged.at_least(FAULT_PAGES_MIN),
            format!("needs at least {FAULT_PAGES_MIN}%"),
            "it does not always start before the drill ends: start it earlier or make the \
             drill longer"
                .to_owned(),
        ),
        _ => (
            f.paged.at_least(FAULT_PAGES_MIN),
            format!("needs at least {FAULT_PAGES_MIN}%"),
            "no page alert fires because of it (one that fires with it and not without it): \
             add a page alert on a metric it moves, make it stronger, or mark it \
             `cause: false` if it is a distraction"
                .to_owned(),
        ),
    };
    Verdict {
        check,
        subject: Some(f.name.clone()),
        observed: f.paged,
        pass,
        message: format!(
            "{what} in {} of runs with no team ({needs})",
            f.paged.percent()
        ),
        hint,
    }
}

/// The verdicts on outcomes: the reference helps users, each wrong response fails.
pub(super) fn outcome_verdicts(
    reference: Option<&ReferenceStats>,
    wrong: &[WrongStats],
) -> Vec<Verdict> {
    let mut out = Vec::new();
    if let Some(r) = reference {
        out.push(Verdict {
            check: Check::ReferenceHelps,
            subject: None,
            observed: r.harms_fewer,
            pass: r.harms_fewer.at_least(REFERENCE_HELPS_MIN),
            message: format!(
                "the reference harms fewer users than no response in {} of runs (users whose request failed, was rejected, or was answered degraded or wrong; needs at least {REFERENCE_HELPS_MIN}%)",
                r.harms_fewer.percent()
            ),
            hint: "the reference turns away or fails more requests than the fault would have: \
                   lift its throttles once the cause is fixed, act on the cause sooner, or undo \
                   a fallback when it is no longer needed"
                .to_owned(),
        });
    }
    for w in wrong {
        let below = w.scores_below_reference.at_least(WRONG_SCORES_BELOW_MIN);
        let broken = w.recovered.at_most(WRONG_RECOVERS_MAX);
        out.push(Verdict {
            check: Check::WrongResponseFails,
            subject: Some(w.name.clone()),
            observed: w.scores_below_reference,
            pass: below && broken,
            message: format!(
                "wrong response {} scores below the reference in {} of runs (needs at least {WRONG_SCORES_BELOW_MIN}%) and recovers in {} (allows at most {WRONG_RECOVERS_MAX}%)",
                w.name,
                w.scores_below_reference.percent(),
                w.recovered.percent()
            ),
            hint: if below {
                "it recovers the system: if that is right, it is not a wrong response; otherwise \
                 make the drill's fault outlast what it does"
                    .to_owned()
            } else {
                "it scores like the reference: the score does not tell it apart. Check that it \
                 really is wrong (it harms users, or misses what the reference does), or make \
                 the reference better"
                    .to_owned()
            },
        });
    }
    out
}

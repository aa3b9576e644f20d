//! The outcome part of the score: how many users the response spared against no response at
//! all, as a share of what the drill's reference response spared. It is what keeps the score
//! grounded in the simulated truth: a team can tick every checklist box and still leave its
//! users worse off than if it had done nothing, and then it must not score as if it had helped.
//!
//! Harm is the users harmed ([`Outcome::harmed`]): each user request once, by its final
//! outcome — it ended without an answer (its last attempt failed, or was rejected, and no
//! retry followed), or the attempt that answered was degraded or wrong (or both). Retries do
//! not multiply it: a client that retries a rejection three times is one harmed user (and four
//! rejected attempts, which the debrief shows beside). A wrong answer from a healthy-looking
//! request is harm too, so a fault that only spoils answers counts. It is counted over the
//! same horizon for the team's run and the counterfactual runs. This module only does the
//! arithmetic; it runs no simulation and reads no session.

use serde::Serialize;

use super::counterfactual::group;
use super::impact::{Outcome, round3};

fn harm_of(o: &Outcome) -> u64 {
    o.harmed
}

/// What the outcome share is measured against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Yardstick {
    /// The harm the reference response avoided (the usual case).
    Reference,
    /// All the harm of no response: the drill has no reference, or its reference avoided
    /// nothing (a defect `calibrate` reports).
    AllHarm,
    /// There was nothing to avoid: no response harmed no one. The part carries no weight.
    Nothing,
}

/// The outcome part, before it is weighted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutcomePart {
    /// Harm with no response: the users it harmed ([`Outcome::harmed`]).
    pub no_response_harm: u64,
    /// Harm in the team's run: the users it harmed.
    pub harm: u64,
    /// `no_response_harm - harm`: negative when the response harmed more users than none.
    pub avoided: i64,
    pub yardstick: Yardstick,
    /// The harm the yardstick avoided (0 with [`Yardstick::Nothing`]).
    pub yardstick_avoided: i64,
    /// `avoided / yardstick_avoided`, clamped to 0..=1.
    pub share: f64,
    /// The response harmed more users than no response at all.
    pub worse_than_none: bool,
    /// One sentence for the reports.
    pub summary: String,
}

impl OutcomePart {
    /// The part for a run that harmed `team.harmed` users, against no response and (if the
    /// drill has one) the reference response over the same horizon.
    #[must_use]
    pub fn measure(
        team: &Outcome,
        no_response: &Outcome,
        reference: Option<&Outcome>,
    ) -> OutcomePart {
        let diff = |a: u64, b: u64| i64::try_from(i128::from(a) - i128::from(b)).unwrap_or(0);
        let (none, ours) = (harm_of(no_response), harm_of(team));
        let avoided = diff(none, ours);
        let reference_avoided = reference.map(|r| diff(none, harm_of(r)));
        let (yardstick, yardstick_avoided) = match reference_avoided {
            Some(r) if r > 0 => (Yardstick::Reference, r),
            _ if none > 0 => (Yardstick::AllHarm, i64::try_from(none).unwrap_or(i64::MAX)),
            _ => (Yardstick::Nothing, 0),
        };
        let share = round3(ratio(avoided, yardstick_avoided));
        let mut part = OutcomePart {
            no_response_harm: none,
            harm: ours,
            avoided,
            yardstick,
            yardstick_avoided,
            share,
            worse_than_none: avoided < 0,
            summary: String::new(),
        };
        part.summary = part.sentence();
        part
    }

    fn sentence(&self) -> String {
        let (team, none) = (group_u(self.harm), group_u(self.no_response_harm));
        if self.worse_than_none {
            return format!(
                "your response harmed {} more users than no response at all ({team} users harmed — requests that failed, were rejected, or were answered degraded or wrong — against {none}), so it scores 0",
                group(-self.avoided)
            );
        }
        match self.yardstick {
            Yardstick::Reference => format!(
                "your response spared {} users against no response ({team} users harmed — requests that failed, were rejected, or were answered degraded or wrong — against {none}); the reference spared {}: share {:.3}",
                group(self.avoided),
                group(self.yardstick_avoided),
                self.share
            ),
            Yardstick::AllHarm => format!(
                "your response spared {} of the {none} users no response harmed (requests that failed, were rejected, or were answered degraded or wrong): share {:.3}",
                group(self.avoided),
                self.share
            ),
            Yardstick::Nothing => {
                "no response harmed no one, so the outcome does not count".to_owned()
            }
        }
    }

    /// The share unrounded (`share` is rounded for the reports), for the points.
    #[must_use]
    pub fn exact_share(&self) -> f64 {
        ratio(self.avoided, self.yardstick_avoided)
    }

    /// Whether the part counts in the score (there was harm to avoid).
    #[must_use]
    pub fn weighs(&self) -> bool {
        self.yardstick != Yardstick::Nothing
    }

    /// `outcome avoided 37,249 of the 110,845 users harmed the reference avoided (share 0.336) × 30 = 10.1`.
    #[must_use]
    pub fn arithmetic(&self, weight: f64, points: f64) -> String {
        if self.worse_than_none {
            return format!(
                "outcome: {} more users harmed than with no response (share 0) × {weight:.0} = {points:.1}",
                group(-self.avoided)
            );
        }
        let of = match self.yardstick {
            Yardstick::Reference => format!(
                "of the {} users harmed the reference avoided",
                group(self.yardstick_avoided)
            ),
            Yardstick::AllHarm => format!(
                "of the {} users no response harmed",
                group(self.yardstick_avoided)
            ),
            Yardstick::Nothing => return "outcome: no response harmed no one".to_owned(),
        };
        format!(
            "outcome avoided {} {of} (share {:.3}) × {weight:.0} = {points:.1}",
            group(self.avoided),
            self.share
        )
    }
}

/// `avoided / of`, clamped to 0..=1 (0 when there is nothing to avoid).
fn ratio(avoided: i64, of: i64) -> f64 {
    if of > 0 {
        (avoided as f64 / of as f64).clamp(0.0, 1.0)
    } else {
        0.0
    }
}

fn group_u(n: u64) -> String {
    group(i64::try_from(n).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn harmed(n: u64) -> Outcome {
        Outcome {
            horizon_seconds: 60.0,
            arrived: n,
            users: n,
            admitted: n,
            completed: n,
            failed: 0,
            rejected: 0,
            degraded: n,
            wrong_answers: 0,
            failed_attempts: 0,
            users_failed: 0,
            users_rejected: 0,
            users_poor: n,
            harmed: n,
            breach: Vec::new(),
            page_breach_minutes: 0.0,
            first_page: None,
            recovered: None,
        }
    }

    #[test]
    fn the_share_is_measured_against_the_reference_and_clamped() {
        let none = harmed(1000);
        let reference = harmed(200);
        let half = OutcomePart::measure(&harmed(600), &none, Some(&reference));
        assert_eq!((half.avoided, half.yardstick_avoided), (400, 800));
        assert_eq!(half.share, 0.5);
        assert!(!half.worse_than_none);
        let better = OutcomePart::measure(&harmed(100), &none, Some(&reference));
        assert_eq!(better.share, 1.0);
        let worse = OutcomePart::measure(&harmed(1001), &none, Some(&reference));
        assert_eq!((worse.share, worse.worse_than_none), (0.0, true));
        let same = OutcomePart::measure(&harmed(1000), &none, Some(&reference));
        assert_eq!((same.share, same.worse_than_none), (0.0, false));
    }

    #[test]
    fn without_a_helpful_reference_the_share_is_of_all_the_harm() {
        let none = harmed(1000);
        let useless = harmed(1200);
        for reference in [None, Some(&useless)] {
            let p = OutcomePart::measure(&harmed(750), &none, reference);
            assert_eq!((p.yardstick, p.share), (Yardstick::AllHarm, 0.25));
        }
        let nothing = OutcomePart::measure(&harmed(0), &harmed(0), None);
        assert!(!nothing.weighs());
        let added = OutcomePart::measure(&harmed(5), &harmed(0), None);
        assert!(!added.weighs() && added.worse_than_none);
    }
}

//! The statistics of a calibration: in how many runs something happened ([`Share`], counted
//! in whole runs), nearest-rank spreads of times and of harm, and the per-alert, per-fault,
//! reference and wrong-response figures the report holds.
//!
//! It does not judge the figures (`verdicts` does) and does not write them for a person
//! (`text` does).

use serde::{Deserialize, Serialize};

use super::fires;
use crate::calibrate::{Harm, SeedRun, WrongRun};

/// In how many of the runs something happened.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Share {
    pub runs: u64,
    pub of: u64,
    pub fraction: f64,
}

impl Share {
    pub(super) fn count(flags: impl Iterator<Item = bool>) -> Share {
        let (mut runs, mut of) = (0, 0);
        for f in flags {
            of += 1;
            runs += u64::from(f);
        }
        Share {
            runs,
            of,
            fraction: if of == 0 {
                0.0
            } else {
                runs as f64 / of as f64
            },
        }
    }

    /// At least `percent` percent of the runs.
    pub(super) fn at_least(self, percent: u64) -> bool {
        self.of > 0 && self.runs * 100 >= percent * self.of
    }

    /// At most `percent` percent of the runs.
    pub(super) fn at_most(self, percent: u64) -> bool {
        self.runs * 100 <= percent * self.of
    }

    /// `97.5%`, rounded down so that a share below a limit never prints as the limit.
    #[must_use]
    pub fn percent(self) -> String {
        if self.of == 0 {
            return "-".to_owned();
        }
        let tenths = self.runs * 1000 / self.of;
        if tenths.is_multiple_of(10) {
            format!("{}%", tenths / 10)
        } else {
            format!("{}.{}%", tenths / 10, tenths % 10)
        }
    }
}

/// p10, p50 and p90 of some seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    pub p10: f64,
    pub p50: f64,
    pub p90: f64,
}

impl Spread {
    pub(super) fn of(values: Vec<f64>) -> Option<Spread> {
        let sorted = sorted(values);
        (!sorted.is_empty()).then(|| Spread {
            p10: nearest_rank(&sorted, 10),
            p50: nearest_rank(&sorted, 50),
            p90: nearest_rank(&sorted, 90),
        })
    }
}

/// The median and p90 of one measure of harm.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct MedianP90 {
    pub median: f64,
    pub p90: f64,
}

impl MedianP90 {
    pub(super) fn of(values: Vec<f64>) -> MedianP90 {
        let sorted = sorted(values);
        if sorted.is_empty() {
            return MedianP90 {
                median: 0.0,
                p90: 0.0,
            };
        }
        MedianP90 {
            median: nearest_rank(&sorted, 50),
            p90: nearest_rank(&sorted, 90),
        }
    }
}

fn sorted(mut values: Vec<f64>) -> Vec<f64> {
    values.sort_by(f64::total_cmp);
    values
}

/// The nearest-rank `percent` percentile of `sorted` (not empty).
fn nearest_rank(sorted: &[f64], percent: usize) -> f64 {
    let rank = (percent * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}

/// An alert in the runs with no team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertStats {
    pub name: String,
    pub severity: String,
    /// `fires`, `quiet` or `either` (see [`AlertInfo`]).
    #[serde(default = "fires")]
    pub expect: String,
    /// Runs in which it fired at all.
    pub fired: Share,
    /// From the first fault's start (the drill's start without faults) to its first firing
    /// after it, over the runs in which it fired then.
    pub time_to_fire_seconds: Option<Spread>,
}

/// A fault in the runs with no team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultStats {
    pub name: String,
    /// A cause (`true`) or a distraction.
    pub cause: bool,
    /// `fires`, `quiet` or `either`: whether it should page.
    pub expect: String,
    pub started: Share,
    /// Runs in which a page alert attributed to it fired (it fired with the fault, and not
    /// with the fault left out).
    pub paged: Share,
    /// Each alert attributed to it in some run, with the runs in which it was.
    pub alerts: Vec<AttributedAlert>,
}

/// An alert attributed to a fault, and in how many runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributedAlert {
    pub name: String,
    pub attributed: Share,
}

/// Median and p90 of each measure of harm over the whole drill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HarmStats {
    pub failed: MedianP90,
    pub rejected: MedianP90,
    pub degraded: MedianP90,
    pub wrong_answers: MedianP90,
    /// The users harmed, each once by its request's final outcome: the harm the score
    /// counts.
    pub harmed: MedianP90,
    pub page_breach_minutes: MedianP90,
}

impl HarmStats {
    pub(super) fn of(harms: &[&Harm]) -> HarmStats {
        let col = |f: fn(&Harm) -> f64| MedianP90::of(harms.iter().map(|h| f(h)).collect());
        HarmStats {
            failed: col(|h| h.failed as f64),
            rejected: col(|h| h.rejected as f64),
            degraded: col(|h| h.degraded as f64),
            wrong_answers: col(|h| h.wrong_answers as f64),
            harmed: col(|h| total_harm(h) as f64),
            page_breach_minutes: col(|h| h.page_breach_minutes),
        }
    }
}

/// Harm with no team, and with the reference response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Impact {
    pub no_team: HarmStats,
    pub reference: Option<HarmStats>,
}

/// How the reference response did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferenceStats {
    pub recovered: Share,
    /// From the first page to recovery, over the runs that recovered.
    pub recovery_after_first_page_seconds: Option<Spread>,
    /// Runs in which it harmed fewer users than no team.
    pub harms_fewer: Share,
    /// Its score (median / p90).
    pub score: Option<MedianP90>,
}

/// How one wrong response did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WrongStats {
    pub name: String,
    /// Runs in which it scored below the reference (all runs when the drill has none).
    pub scores_below_reference: Share,
    pub recovered: Share,
    /// Its score (median / p90).
    pub score: MedianP90,
    pub harm: HarmStats,
}

/// The harm the score counts: the users harmed ([`crate::score::impact::Outcome::harmed`]).
pub(super) fn total_harm(h: &Harm) -> u64 {
    h.harmed
}

/// Each wrong response's statistics over `runs`.
pub(super) fn wrong_stats(names: &[String], runs: &[SeedRun]) -> Vec<WrongStats> {
    names
        .iter()
        .map(|name| {
            let mine: Vec<(&WrongRun, Option<u32>)> = runs
                .iter()
                .filter_map(|r| {
                    let w = r.wrong.iter().find(|w| &w.name == name)?;
                    Some((w, r.reference.as_ref().map(|x| x.score)))
                })
                .collect();
            WrongStats {
                name: name.clone(),
                scores_below_reference: Share::count(
                    mine.iter()
                        .map(|(w, reference)| reference.is_none_or(|r| w.score < r)),
                ),
                recovered: Share::count(mine.iter().map(|(w, _)| w.recovered.is_some())),
                score: MedianP90::of(mine.iter().map(|(w, _)| f64::from(w.score)).collect()),
                harm: HarmStats::of(&mine.iter().map(|(w, _)| &w.harm).collect::<Vec<_>>()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_picks_observed_values() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(nearest_rank(&v, 10), 1.0);
        assert_eq!(nearest_rank(&v, 50), 5.0);
        assert_eq!(nearest_rank(&v, 90), 9.0);
        assert_eq!(nearest_rank(&[3.0], 10), 3.0);
    }

    #[test]
    fn shares_round_down_and_compare_exactly() {
        let s = Share::count((0..20).map(|i| i != 0));
        assert_eq!(s.percent(), "95%");
        assert!(s.at_least(95));
        let s = Share::count((0..1000).map(|i| i >= 51));
        assert_eq!(s.percent(), "94.9%");
        assert!(!s.at_least(95));
        assert!(Share::count((0..20).map(|i| i == 0)).at_most(5));
    }
}

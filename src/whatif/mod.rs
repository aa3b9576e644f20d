//! What if: the same incident on a changed system. A postmortem's action items ([`Change`]s)
//! are applied to the drill; the base system, each change alone and all of them together
//! run on the same seeds, each with no team and — when the source is a transcript — with the
//! team's own inputs at their simulated times. Because every random stream is named and
//! arrivals do not depend on the system, the differences are the changes' doing, not noise.
//!
//! Runs go in parallel on a local rayon pool; records are kept in seed order and every
//! statistic is computed from that ordered list, so the result does not depend on `--jobs`,
//! and shards merge exactly ([`merge`]). This module reads no clock and does no I/O; the
//! command line reads the files ([`Source`]) and renders the result ([`render`]).
//!
//! It adds no model of its own: the engine runs, the session replays inputs, and harm is
//! counted as the debrief counts it ([`crate::score::impact`]).

pub mod capacity;
pub mod postmortem;

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::calibrate::{CalibrateError, Plan, check_jobs};
use crate::drill::Drill;
use crate::drill::change::{self, Change, ChangeKind};
use crate::score::impact;
use crate::session::transcript::Line;

/// The format number of `whatif --json`, checked by `--merge`.
pub const FORMAT: u32 = 1;

pub use crate::score::changed::{
    Measures, Skipped, run_no_team, run_no_team_attributed, run_team, run_team_with,
};

/// A system to try: the base or a changed drill.
#[derive(Debug, Clone)]
pub struct Variant {
    pub title: String,
    pub owner: Option<String>,
    pub kind: Option<ChangeKind>,
    pub drill: Drill,
}

/// The systems a what-if compares: the base, each change alone, and all together.
#[derive(Debug, Clone)]
pub struct Variants {
    pub base: Variant,
    pub changes: Vec<Variant>,
    /// All changes together (the single change itself when there is one).
    pub all: Variant,
}

/// A change that cannot be applied to the drill, or whose changed drill does not pass
/// `check`: each problem with the change it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeProblem {
    pub change: usize,
    pub message: String,
}

impl Variants {
    /// Applies `changes` to `drill`, alone and together, and checks each changed drill.
    ///
    /// # Errors
    /// Every problem of every change: a step the service lacks, or a changed drill that
    /// does not validate.
    pub fn new(drill: &Drill, changes: &[Change]) -> Result<Variants, Vec<ChangeProblem>> {
        let mut problems = Vec::new();
        let mut alone = Vec::new();
        for (i, c) in changes.iter().enumerate() {
            match change::apply(drill, &[c]) {
                Ok(changed) => {
                    for p in crate::drill::validate::validate(&changed) {
                        problems.push(ChangeProblem {
                            change: i,
                            message: format!("the changed drill: {p}"),
                        });
                    }
                    alone.push(Variant {
                        title: c.title.clone(),
                        owner: c.owner.clone(),
                        kind: Some(c.kind()),
                        drill: changed,
                    });
                }
                Err(ps) => problems.extend(ps.into_iter().map(|p| ChangeProblem {
                    change: i,
                    message: format!("{}: {}", p.field, p.message),
                })),
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let all_drill = if changes.len() == 1 {
            alone[0].drill.clone()
        } else {
            let refs: Vec<&Change> = changes.iter().collect();
            let together = change::apply(drill, &refs).map_err(|ps| {
                ps.into_iter()
                    .map(|p| ChangeProblem {
                        change: p.change,
                        message: p.message,
                    })
                    .collect::<Vec<_>>()
            })?;
            let invalid: Vec<ChangeProblem> = crate::drill::validate::validate(&together)
                .into_iter()
                .map(|p| ChangeProblem {
                    change: changes.len(),
                    message: format!("all changes together: {p}"),
                })
                .collect();
            if !invalid.is_empty() {
                return Err(invalid);
            }
            together
        };
        Ok(Variants {
            base: Variant {
                title: "base".into(),
                owner: None,
                kind: None,
                drill: drill.clone(),
            },
            all: Variant {
                title: "all changes".into(),
                owner: None,
                kind: None,
                drill: all_drill,
            },
            changes: alone,
        })
    }

    /// Every variant in report order: the base, each change, all together.
    fn each(&self) -> impl Iterator<Item = &Variant> {
        std::iter::once(&self.base)
            .chain(&self.changes)
            .chain(std::iter::once(&self.all))
    }
}

/// One seed's runs of one variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedRecord {
    pub seed: u64,
    pub no_team: Measures,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<Measures>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<Skipped>,
}

/// Runs one variant on one seed.
fn run_seed(variant: &Variant, seed: u64, inputs: Option<&[Line]>) -> SeedRecord {
    let (no_team, team, skipped) = match inputs {
        Some(inputs) => {
            // The team's session attributes alerts from the very run with no team.
            let (no_team, attribution) = run_no_team_attributed(&variant.drill, seed);
            let (m, s) = run_team_with(&variant.drill, seed, inputs, attribution);
            (no_team, Some(m), s)
        }
        None => (run_no_team(&variant.drill, seed), None, Vec::new()),
    };
    SeedRecord {
        seed,
        no_team,
        team,
        skipped,
    }
}

/// Runs every variant on every seed of `plan` on `jobs` threads (0: one per core), calling
/// `done` after each (variant, seed). Records come back per variant in seed order.
///
/// # Errors
/// A bad `--jobs` or threads that cannot start.
pub fn run(
    variants: &Variants,
    plan: &Plan,
    inputs: Option<&[Line]>,
    jobs: usize,
    done: &(dyn Fn() + Sync),
) -> Result<Vec<Vec<SeedRecord>>, CalibrateError> {
    let jobs = check_jobs(jobs)?;
    let seeds = plan.seeds();
    let all: Vec<&Variant> = variants.each().collect();
    // With one change, "all changes" is that change: run it once.
    let distinct = if variants.changes.len() == 1 {
        all.len() - 1
    } else {
        all.len()
    };
    let work: Vec<(usize, u64)> = (0..distinct)
        .flat_map(|v| seeds.iter().map(move |&s| (v, s)))
        .collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(if jobs == 0 {
            0
        } else {
            jobs.min(work.len().max(1))
        })
        .thread_name(|i| format!("whatif-{i}"))
        .build()
        .map_err(|e| CalibrateError::Threads(e.to_string()))?;
    let records: Vec<SeedRecord> = pool.install(|| {
        work.par_iter()
            .map(|&(v, seed)| {
                let record = run_seed(all[v], seed, inputs);
                done();
                record
            })
            .collect()
    });
    let mut per_variant: Vec<Vec<SeedRecord>> = records
        .chunks(seeds.len().max(1))
        .map(<[SeedRecord]>::to_vec)
        .collect();
    if distinct < all.len() {
        let last = per_variant.last().cloned().unwrap_or_default();
        per_variant.push(last);
    }
    Ok(per_variant)
}

/// A number over runs: the median, with the 10th and 90th percentiles beside it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    pub p10: f64,
    pub p50: f64,
    pub p90: f64,
}

/// The `q` quantile of `values` (sorted here), interpolated between ranks; 0 when empty.
#[must_use]
pub fn quantile(values: &[f64], q: f64) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let at = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let (lo, hi) = (at.floor() as usize, at.ceil() as usize);
    let x = v[lo] + (v[hi] - v[lo]) * (at - lo as f64);
    impact::round3(x)
}

impl Spread {
    #[must_use]
    pub fn of(values: &[f64]) -> Spread {
        Spread {
            p10: quantile(values, 0.1),
            p50: quantile(values, 0.5),
            p90: quantile(values, 0.9),
        }
    }
}

/// Harm by kind (medians over runs): `total` the users harmed, each once (the harm the score
/// counts); the others attempts and answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Harm {
    pub total: f64,
    pub failed: f64,
    pub rejected: f64,
    pub degraded: f64,
    pub wrong_answers: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pages {
    /// The share of runs in which a page fired.
    pub fired_share: f64,
    /// The median time of the first page, over the runs that paged; `None` when none did.
    pub first_page_seconds_p50: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cost {
    pub model_dollars: f64,
    pub connection_hours: f64,
}

/// The figures of one quantile over runs, in the shape of [`Result`]'s medians.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    pub harm: Harm,
    pub minutes_in_breach: f64,
    pub latency_p99_seconds: f64,
    pub cost: Cost,
}

/// One variant with no team or with the team, over every run: medians, and the 10th and
/// 90th percentiles beside them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub runs: usize,
    pub harm: Harm,
    pub pages: Pages,
    pub minutes_in_breach: f64,
    pub latency_p99_seconds: f64,
    pub cost: Cost,
    /// Runs in which a page fired.
    pub paged_runs: usize,
    /// Runs with no harm at all.
    pub harmless_runs: usize,
    pub p10: Figures,
    pub p90: Figures,
}

impl Outcome {
    #[must_use]
    pub fn of(runs: &[&Measures]) -> Outcome {
        let column = |f: &dyn Fn(&Measures) -> f64| runs.iter().map(|m| f(m)).collect::<Vec<f64>>();
        let figures = |q: f64| {
            let at = |f: &dyn Fn(&Measures) -> f64| quantile(&column(f), q);
            Figures {
                harm: Harm {
                    total: at(&|m| m.harm() as f64),
                    failed: at(&|m| m.failed as f64),
                    rejected: at(&|m| m.rejected as f64),
                    degraded: at(&|m| m.degraded as f64),
                    wrong_answers: at(&|m| m.wrong_answers as f64),
                },
                minutes_in_breach: at(&|m| m.minutes_in_breach),
                latency_p99_seconds: at(&|m| m.latency_p99_seconds),
                cost: Cost {
                    model_dollars: at(&|m| m.model_dollars),
                    connection_hours: at(&|m| m.connection_hours),
                },
            }
        };
        let median = figures(0.5);
        let paged: Vec<f64> = runs.iter().filter_map(|m| m.first_page_seconds).collect();
        let paged_runs = runs.iter().filter(|m| m.paged).count();
        Outcome {
            runs: runs.len(),
            harm: median.harm,
            pages: Pages {
                fired_share: if runs.is_empty() {
                    0.0
                } else {
                    impact::round3(paged_runs as f64 / runs.len() as f64)
                },
                first_page_seconds_p50: (!paged.is_empty()).then(|| quantile(&paged, 0.5)),
            },
            minutes_in_breach: median.minutes_in_breach,
            latency_p99_seconds: median.latency_p99_seconds,
            cost: median.cost,
            paged_runs,
            harmless_runs: runs.iter().filter(|m| m.harm() == 0).count(),
            p10: figures(0.1),
            p90: figures(0.9),
        }
    }
}

/// One variant's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantResult {
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ChangeKind>,
    pub no_team: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<Outcome>,
    /// The team's inputs this system refused, each once with the number of runs it was
    /// refused in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped_inputs: Vec<SkippedInput>,
    /// Every seed's record (what `--merge` recomputes from).
    pub records: Vec<SeedRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkippedInput {
    #[serde(flatten)]
    pub input: Skipped,
    pub runs: usize,
}

impl VariantResult {
    fn new(variant: &Variant, records: Vec<SeedRecord>) -> VariantResult {
        VariantResult::named(
            variant.title.clone(),
            variant.owner.clone(),
            variant.kind,
            records,
        )
    }

    fn named(
        title: String,
        owner: Option<String>,
        kind: Option<ChangeKind>,
        records: Vec<SeedRecord>,
    ) -> VariantResult {
        let no_team: Vec<&Measures> = records.iter().map(|r| &r.no_team).collect();
        let team: Vec<&Measures> = records.iter().filter_map(|r| r.team.as_ref()).collect();
        let mut skipped: BTreeMap<&Skipped, usize> = BTreeMap::new();
        for s in records.iter().flat_map(|r| &r.skipped) {
            *skipped.entry(s).or_default() += 1;
        }
        let skipped_inputs = skipped
            .into_iter()
            .map(|(input, runs)| SkippedInput {
                input: input.clone(),
                runs,
            })
            .collect();
        VariantResult {
            title,
            owner,
            kind,
            no_team: Outcome::of(&no_team),
            team: (!team.is_empty()).then(|| Outcome::of(&team)),
            skipped_inputs,
            records,
        }
    }
}

/// What was compared: the drill and, for a transcript, its file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subject {
    pub drill: String,
    /// The SHA-256 of the drill's text (shards must share it).
    pub sha256: String,
    /// `drill` or `transcript`.
    pub source: String,
}

/// A what-if: the base and each change, alone and together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhatIf {
    pub whatif_format: u32,
    pub subject: Subject,
    pub plan: Plan,
    pub base: VariantResult,
    pub changes: Vec<VariantResult>,
    pub all: VariantResult,
}

impl WhatIf {
    /// The result of `records` (per variant, in [`Variants`]' order).
    #[must_use]
    pub fn new(
        subject: Subject,
        plan: Plan,
        variants: &Variants,
        mut records: Vec<Vec<SeedRecord>>,
    ) -> WhatIf {
        let all = VariantResult::new(&variants.all, records.pop().unwrap_or_default());
        let mut rest = records.into_iter();
        let base = VariantResult::new(&variants.base, rest.next().unwrap_or_default());
        let changes = variants
            .changes
            .iter()
            .zip(rest)
            .map(|(v, r)| VariantResult::new(v, r))
            .collect();
        WhatIf {
            whatif_format: FORMAT,
            subject,
            plan,
            base,
            changes,
            all,
        }
    }

    /// The JSON `whatif --json` prints.
    #[must_use]
    pub fn json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a what-if serialises");
        text.push('\n');
        text
    }
}

/// Joins the `--json` results of the shards of one what-if into the unsharded result.
///
/// # Errors
/// Shards of different drills, changes or plans; a shard missing or given twice.
pub fn merge(parts: &[(String, WhatIf)]) -> Result<WhatIf, CalibrateError> {
    let err = |m: String| Err(CalibrateError::Merge(m));
    let Some((first_label, first)) = parts.first() else {
        return err("--merge needs at least one file".to_owned());
    };
    let titles = |w: &WhatIf| {
        w.changes
            .iter()
            .map(|c| c.title.clone())
            .collect::<Vec<_>>()
    };
    for (label, part) in parts {
        if part.whatif_format != FORMAT {
            return err(format!(
                "{label} has what-if format {}; this firedrill reads format {FORMAT}",
                part.whatif_format
            ));
        }
        if part.subject != first.subject || titles(part) != titles(first) {
            return err(format!(
                "{label} and {first_label} compare different drills or changes: shards must \
                 come from the same source and change files"
            ));
        }
        if (part.plan.runs, part.plan.seed_start, part.plan.shard.count)
            != (
                first.plan.runs,
                first.plan.seed_start,
                first.plan.shard.count,
            )
        {
            return err(format!(
                "{label} ran --runs {} --shard {} but {first_label} ran --runs {} --shard {}: \
                 shards must share --runs, the first seed and N",
                part.plan.runs, part.plan.shard, first.plan.runs, first.plan.shard
            ));
        }
    }
    let count = first.plan.shard.count as usize;
    let mut seen = vec![false; count];
    for (label, part) in parts {
        let slot = &mut seen[(part.plan.shard.index - 1) as usize];
        if *slot {
            return err(format!(
                "shard {} is given twice ({label})",
                part.plan.shard
            ));
        }
        *slot = true;
    }
    if let Some(missing) = seen.iter().position(|s| !s) {
        return err(format!(
            "shard {}/{count} is missing: merge every shard of the what-if",
            missing + 1
        ));
    }
    let whole = first.plan.whole();
    let gather = |pick: &dyn Fn(&WhatIf) -> &VariantResult| {
        let mut records: Vec<SeedRecord> = parts
            .iter()
            .flat_map(|(_, p)| pick(p).records.iter().cloned())
            .collect();
        records.sort_by_key(|r| r.seed);
        records
    };
    let rebuild = |template: &VariantResult, records: Vec<SeedRecord>| {
        VariantResult::named(
            template.title.clone(),
            template.owner.clone(),
            template.kind,
            records,
        )
    };
    Ok(WhatIf {
        whatif_format: FORMAT,
        subject: first.subject.clone(),
        plan: whole,
        base: rebuild(&first.base, gather(&|w| &w.base)),
        changes: first
            .changes
            .iter()
            .enumerate()
            .map(|(i, c)| rebuild(c, gather(&|w| &w.changes[i])))
            .collect(),
        all: rebuild(&first.all, gather(&|w| &w.all)),
    })
}

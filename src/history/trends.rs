//! The trends over a team's recorded sessions, as `history report` shows them: per team, the
//! score over time per drill, detect / acknowledge / mitigate times against the drill's
//! objectives, each role's task hit rate and the drills left unplayed; per drill, when it was
//! last played, its measured difficulty and whether every team finds it too easy or too hard.
//!
//! A pure function of the stored rows, the library and the day the report is for: it reads no
//! clock and no file, and orders everything by name or date, so the same store gives the same
//! report. [`crate::report::trends`] renders it.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::PlayedAt;
use super::store::{SessionRow, TaskRow};

/// A drill last played this many days or more before the report is listed as due.
pub const STALE_DAYS: i64 = 90;
/// Sessions of a drill needed before its difficulty is measured.
pub const MEASURED_AFTER: usize = 5;
/// A team passes a drill easily when every one of its sessions met the objectives and its
/// median score is at least this.
pub const EASY_SCORE: f64 = 80.0;
/// A team fails a drill when fewer than half its sessions met the objectives, or its median
/// score is below this.
pub const FAIL_SCORE: f64 = 50.0;

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trends {
    /// The day the report is for (`2026-03-03`): the newest session's day unless given.
    pub as_of: String,
    pub stale_days: i64,
    pub sessions: usize,
    pub teams: Vec<TeamTrends>,
    pub drills: Vec<DrillStanding>,
    /// Drills every team that played them passes easily, or fails.
    pub suggestions: Vec<Suggestion>,
    /// How the verdicts are reached, in words.
    pub rules: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TeamTrends {
    pub team: String,
    pub sessions: usize,
    pub drills: Vec<TeamDrill>,
    pub roles: Vec<RoleRate>,
    /// Drills this team never played, or last played [`STALE_DAYS`] days or more ago.
    pub due: Vec<Due>,
}

/// A team's sessions of one drill, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TeamDrill {
    pub drill: String,
    pub points: Vec<Point>,
    pub median_score: f64,
    /// The share of sessions that met every objective.
    pub share_met: f64,
}

/// One session, as the trends see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    pub id: i64,
    pub played_at: String,
    pub score: u32,
    pub met_objectives: bool,
    pub detect_seconds: Option<f64>,
    pub detect_target_seconds: Option<f64>,
    pub acknowledge_seconds: Option<f64>,
    pub mitigate_seconds: Option<f64>,
    pub mitigate_target_seconds: Option<f64>,
}

/// One role's tasks over a team's sessions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoleRate {
    pub role: String,
    pub tasks: usize,
    pub on_time: usize,
    pub late: usize,
    /// Not done at all (or done before recovery when due after it).
    pub missed: usize,
    /// `on_time / tasks`.
    pub hit_rate: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Due {
    pub drill: String,
    /// When the team last played it, if ever.
    pub last_played: Option<String>,
    pub days_since: Option<i64>,
}

/// One drill across every team.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DrillStanding {
    pub drill: String,
    /// The author's `Difficulty:` header (1–5), for a library drill that has one.
    pub difficulty: Option<u8>,
    pub sessions: usize,
    pub teams: usize,
    pub last_played: Option<String>,
    /// Measured once it has [`MEASURED_AFTER`] sessions.
    pub measured: Option<Measured>,
}

/// A drill's difficulty measured from its sessions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measured {
    pub sessions: usize,
    /// The share of sessions that met every objective.
    pub share_met: f64,
    pub median_score: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestion {
    pub drill: String,
    /// `harder` (every team passes it easily) or `training` (every team fails it).
    pub kind: String,
    pub text: String,
}

/// The median of `values` (the mean of the middle two for an even count); 0 for none.
#[must_use]
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        f64::midpoint(v[n / 2 - 1], v[n / 2])
    }
}

fn met(row: &SessionRow) -> bool {
    row.objectives_met == row.objectives_total
}

/// Measured difficulty of each drill with at least [`MEASURED_AFTER`] sessions, by name.
#[must_use]
pub fn measured(rows: &[SessionRow]) -> BTreeMap<String, Measured> {
    let mut by_drill: BTreeMap<&str, Vec<&SessionRow>> = BTreeMap::new();
    for r in rows {
        by_drill.entry(&r.drill).or_default().push(r);
    }
    by_drill
        .into_iter()
        .filter(|(_, v)| v.len() >= MEASURED_AFTER)
        .map(|(d, v)| {
            let scores: Vec<f64> = v.iter().map(|r| f64::from(r.score.unwrap_or(0))).collect();
            let share = v.iter().filter(|r| met(r)).count() as f64 / v.len() as f64;
            (
                d.to_owned(),
                Measured {
                    sessions: v.len(),
                    share_met: share,
                    median_score: median(&scores),
                },
            )
        })
        .collect()
}

/// Builds the trends of `rows` (sessions, any order) and their `tasks`. `library` lists the
/// drills a team could play with their authors' difficulty; `as_of` is the day of the report
/// (default: the newest session's).
#[must_use]
pub fn build(
    rows: &[SessionRow],
    tasks: &[TaskRow],
    library: &[(&str, Option<u8>)],
    as_of: Option<&PlayedAt>,
) -> Trends {
    let mut rows: Vec<&SessionRow> = rows.iter().collect();
    rows.sort_by(|a, b| (&a.played_at, a.id).cmp(&(&b.played_at, b.id)));
    let as_of = as_of
        .cloned()
        .or_else(|| rows.last().and_then(|r| PlayedAt::parse(&r.played_at).ok()));
    let as_of_day = as_of.as_ref().map_or(0, PlayedAt::day);
    let as_of_text = as_of
        .as_ref()
        .map_or_else(|| "—".to_owned(), |a| a.as_str()[..10].to_owned());
    let day = |r: &SessionRow| PlayedAt::parse(&r.played_at).map_or(0, |p| p.day());

    // Every drill: the library's, then any other recorded.
    let mut drill_names: Vec<String> = library.iter().map(|(n, _)| (*n).to_owned()).collect();
    let recorded: BTreeSet<&str> = rows.iter().map(|r| r.drill.as_str()).collect();
    for d in recorded {
        if !drill_names.iter().any(|n| n == d) {
            drill_names.push(d.to_owned());
        }
    }

    let mut by_team: BTreeMap<&str, Vec<&SessionRow>> = BTreeMap::new();
    for r in &rows {
        by_team.entry(&r.team).or_default().push(r);
    }
    let team_of: BTreeMap<i64, &str> = rows.iter().map(|r| (r.id, r.team.as_str())).collect();

    let mut teams = Vec::new();
    // Per drill, per team: (median score, share met) for the verdicts.
    let mut standings: BTreeMap<&str, Vec<(f64, f64)>> = BTreeMap::new();
    for (team, sessions) in &by_team {
        let mut drills: BTreeMap<&str, Vec<&SessionRow>> = BTreeMap::new();
        for r in sessions {
            drills.entry(&r.drill).or_default().push(r);
        }
        let drills: Vec<TeamDrill> = drills
            .into_iter()
            .map(|(drill, v)| {
                let scores: Vec<f64> = v.iter().map(|r| f64::from(r.score.unwrap_or(0))).collect();
                let share_met = v.iter().filter(|r| met(r)).count() as f64 / v.len() as f64;
                let median_score = median(&scores);
                standings
                    .entry(drill)
                    .or_default()
                    .push((median_score, share_met));
                TeamDrill {
                    drill: drill.to_owned(),
                    points: v
                        .iter()
                        .map(|r| Point {
                            id: r.id,
                            played_at: r.played_at.clone(),
                            score: r.score.unwrap_or(0),
                            met_objectives: met(r),
                            detect_seconds: r.detect_seconds,
                            detect_target_seconds: r.detect_target_seconds,
                            acknowledge_seconds: r.acknowledge_seconds,
                            mitigate_seconds: r.mitigate_seconds,
                            mitigate_target_seconds: r.mitigate_target_seconds,
                        })
                        .collect(),
                    median_score,
                    share_met,
                }
            })
            .collect();

        let mut roles: BTreeMap<&str, RoleRate> = BTreeMap::new();
        for t in tasks
            .iter()
            .filter(|t| team_of.get(&t.session_id) == Some(team))
        {
            let rate = roles.entry(&t.role).or_insert_with(|| RoleRate {
                role: t.role.clone(),
                tasks: 0,
                on_time: 0,
                late: 0,
                missed: 0,
                hit_rate: 0.0,
            });
            rate.tasks += 1;
            match t.status.as_str() {
                "on_time" => rate.on_time += 1,
                "late" => rate.late += 1,
                _ => rate.missed += 1,
            }
        }
        let roles: Vec<RoleRate> = roles
            .into_values()
            .map(|mut r| {
                r.hit_rate = r.on_time as f64 / r.tasks.max(1) as f64;
                r
            })
            .collect();

        let due = drill_names
            .iter()
            .filter_map(|name| {
                let last = sessions.iter().rev().find(|r| &r.drill == name);
                match last {
                    None => Some(Due {
                        drill: name.clone(),
                        last_played: None,
                        days_since: None,
                    }),
                    Some(r) => {
                        let days = as_of_day - day(r);
                        (days >= STALE_DAYS).then(|| Due {
                            drill: name.clone(),
                            last_played: Some(r.played_at.clone()),
                            days_since: Some(days),
                        })
                    }
                }
            })
            .collect();

        teams.push(TeamTrends {
            team: (*team).to_owned(),
            sessions: sessions.len(),
            drills,
            roles,
            due,
        });
    }

    let measured = measured(&rows.iter().map(|r| (*r).clone()).collect::<Vec<_>>());
    let drills = drill_names
        .iter()
        .map(|name| {
            let of: Vec<&&SessionRow> = rows.iter().filter(|r| &r.drill == name).collect();
            let teams: BTreeSet<&str> = of.iter().map(|r| r.team.as_str()).collect();
            DrillStanding {
                drill: name.clone(),
                difficulty: library
                    .iter()
                    .find(|(n, _)| n == name)
                    .and_then(|(_, d)| *d),
                sessions: of.len(),
                teams: teams.len(),
                last_played: of.last().map(|r| r.played_at.clone()),
                measured: measured.get(name).cloned(),
            }
        })
        .collect();

    let mut suggestions = Vec::new();
    for (drill, per_team) in &standings {
        let n = per_team.len();
        let everyone = if n == 1 {
            "the one team that played it".to_owned()
        } else {
            format!("all {n} teams that played it")
        };
        if per_team
            .iter()
            .all(|(m, share)| *share >= 1.0 && *m >= EASY_SCORE)
        {
            suggestions.push(Suggestion {
                drill: (*drill).to_owned(),
                kind: "harder".into(),
                text: format!(
                    "{everyone} met every objective each time, with a median score of at least {EASY_SCORE:.0}: move on to a harder drill"
                ),
            });
        } else if per_team
            .iter()
            .all(|(m, share)| *share < 0.5 || *m < FAIL_SCORE)
        {
            suggestions.push(Suggestion {
                drill: (*drill).to_owned(),
                kind: "training".into(),
                text: format!(
                    "{everyone} met the objectives in fewer than half of the sessions or scored a median below {FAIL_SCORE:.0}: train on what it teaches before playing it again"
                ),
            });
        }
    }

    Trends {
        as_of: as_of_text,
        stale_days: STALE_DAYS,
        sessions: rows.len(),
        teams,
        drills,
        suggestions,
        rules: format!(
            "A drill is due for a team when the team never played it or last played it {STALE_DAYS} days or more before {}. A role's hit rate is the share of its tasks done on time. A drill's difficulty is measured once it has {MEASURED_AFTER} sessions: the share of sessions that met every objective and the median score. A drill is too easy when every team that played it met every objective in every session with a median score of at least {EASY_SCORE:.0}; too hard when every team met them in fewer than half its sessions or had a median score below {FAIL_SCORE:.0}.",
            if as_of.is_some() {
                "the report's day"
            } else {
                "today"
            }
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, team: &str, drill: &str, day: &str, score: u32, met: bool) -> SessionRow {
        SessionRow {
            id,
            team: team.into(),
            drill: drill.into(),
            played_at: format!("{day}T00:00:00Z"),
            seed: "1".into(),
            score: Some(score),
            objectives_met: Some(if met { 2 } else { 1 }),
            objectives_total: Some(2),
            detect_seconds: None,
            detect_target_seconds: None,
            acknowledge_seconds: None,
            mitigate_seconds: None,
            mitigate_target_seconds: None,
            missed: Vec::new(),
        }
    }

    #[test]
    fn median_takes_the_middle_or_the_mean_of_the_middle_two() {
        assert_eq!(median(&[]), 0.0);
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
    }

    #[test]
    fn difficulty_is_measured_from_five_sessions_on() {
        let mut rows: Vec<SessionRow> = (0..4)
            .map(|i| row(i, "a", "d", "2026-01-01", 50 + i as u32 * 10, i % 2 == 0))
            .collect();
        assert!(measured(&rows).is_empty());
        rows.push(row(4, "b", "d", "2026-01-02", 100, true));
        let m = &measured(&rows)["d"];
        assert_eq!(m.sessions, 5);
        assert_eq!(m.share_met, 3.0 / 5.0);
        assert_eq!(m.median_score, 70.0);
    }

    #[test]
    fn drills_are_due_after_ninety_days_counted_from_the_reports_day() {
        let rows = vec![
            row(1, "a", "old", "2026-01-01", 90, true),
            row(2, "a", "recent", "2026-03-31", 90, true),
        ];
        let lib = [("old", Some(2)), ("recent", None), ("never", Some(5))];
        let as_of = PlayedAt::parse("2026-04-01").unwrap();
        let t = build(&rows, &[], &lib, Some(&as_of));
        let due: Vec<(&str, Option<i64>)> = t.teams[0]
            .due
            .iter()
            .map(|d| (d.drill.as_str(), d.days_since))
            .collect();
        assert_eq!(due, vec![("old", Some(90)), ("never", None)]);
        // With no day given, the newest session's day: nothing is 90 days old yet.
        let t = build(&rows, &[], &lib, None);
        assert_eq!(t.as_of, "2026-03-31");
        assert_eq!(t.teams[0].due.len(), 1);
    }
}

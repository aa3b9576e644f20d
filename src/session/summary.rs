//! What a session amounts to, printed at the end of a live run and by `replay`: the
//! system's run (as `simulate` reports it, without wall time), the ground truth, the team's
//! key moments and the checklists. A live run and the replay of its transcript print the
//! same summary, byte for byte.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::Session;
use super::team::Detail;
use crate::session::checklist::{self, Status, TaskResult};
use crate::sim::{SimTime, Summary};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionSummary {
    pub drill: String,
    pub seed: u64,
    /// Simulated seconds at which the session stands (its end, if it ended).
    pub at_seconds: f64,
    /// `end` (the team ended it), `duration` (it ran its course) or `open` (not finished).
    pub ended_by: String,
    pub truth: Truth,
    pub team: TeamSummary,
    pub checklist: Vec<TaskResult>,
    pub points: Points,
    pub simulation: Summary,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Truth {
    pub faults: Vec<FaultTimes>,
    pub first_page_seconds: Option<f64>,
    pub recovered_seconds: Option<f64>,
}

impl Truth {
    /// The faults by start time, ties (and faults that never began, last) in drill order.
    #[must_use]
    pub fn faults_in_time_order(&self) -> Vec<&FaultTimes> {
        let mut faults: Vec<&FaultTimes> = self.faults.iter().collect();
        // A stable sort keeps drill order among equal keys.
        faults.sort_by(|a, b| match (a.started_seconds, b.started_seconds) {
            (Some(a), Some(b)) => a.total_cmp(&b),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        });
        faults
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaultTimes {
    pub name: String,
    pub started_seconds: Option<f64>,
    pub ended_seconds: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TeamSummary {
    pub commands: usize,
    pub by_role: BTreeMap<String, usize>,
    pub acknowledged_seconds: Option<f64>,
    pub declared_seconds: Option<f64>,
    pub severity: Option<u8>,
    pub diagnosed_seconds: Option<f64>,
    pub wrong_diagnoses: usize,
    pub resolved_seconds: Option<f64>,
    pub notes: usize,
    pub updates: usize,
    pub actions: Vec<ActionTaken>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionTaken {
    pub at_seconds: f64,
    pub role: String,
    pub input: String,
    pub lands_seconds: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Points {
    pub earned: i64,
    pub possible: i64,
}

fn secs(t: Option<SimTime>) -> Option<f64> {
    t.map(SimTime::as_secs_f64)
}

impl SessionSummary {
    #[must_use]
    pub fn of(session: &Session) -> SessionSummary {
        let drill = session.drill();
        let sim = session.sim();
        let truth = sim.truth();
        let team = session.team();
        let ended_by = match session.ended() {
            Some(_) if team.first("end").is_some() => "end",
            Some(_) => "duration",
            None => "open",
        };
        let checklist =
            checklist::evaluate_all(drill, truth, team, session.now(), session.ended().is_some());
        let points = Points {
            earned: checklist.iter().map(|t| t.earned).sum(),
            possible: checklist.iter().map(|t| t.points).sum(),
        };
        let mut by_role = BTreeMap::new();
        for e in &team.log {
            *by_role.entry(e.role.clone()).or_insert(0) += 1;
        }
        SessionSummary {
            drill: drill.name.clone(),
            seed: sim.seed(),
            at_seconds: session.now().as_secs_f64(),
            ended_by: ended_by.to_owned(),
            truth: Truth {
                faults: drill
                    .faults
                    .iter()
                    .enumerate()
                    .map(|(i, f)| FaultTimes {
                        name: f.name.clone(),
                        started_seconds: secs(truth.fault_started[i]),
                        ended_seconds: secs(truth.fault_ended[i]),
                    })
                    .collect(),
                first_page_seconds: secs(truth.first_page),
                recovered_seconds: secs(truth.recovered),
            },
            team: TeamSummary {
                commands: team.log.len(),
                by_role,
                acknowledged_seconds: secs(team.first("ack").map(|e| e.at)),
                declared_seconds: secs(team.first("declare").map(|e| e.at)),
                severity: team.severity(),
                diagnosed_seconds: secs(team.diagnosed().map(|e| e.at)),
                wrong_diagnoses: team.wrong_diagnoses(),
                resolved_seconds: secs(team.first("resolve").map(|e| e.at)),
                notes: team.all("note").count(),
                updates: team.all("update").count(),
                actions: team
                    .actions()
                    .map(|e| ActionTaken {
                        at_seconds: e.at.as_secs_f64(),
                        role: e.role.clone(),
                        input: e.input.clone(),
                        lands_seconds: match e.detail {
                            Detail::Ordered { lands } => lands.as_secs_f64(),
                            _ => e.at.as_secs_f64(),
                        },
                    })
                    .collect(),
            },
            checklist,
            points,
            simulation: Summary::of(sim, drill),
        }
    }

    /// The summary as the team reads it at the end of a drill.
    #[must_use]
    pub fn render_text(&self, session: &Session) -> String {
        let clock = |s: f64| session.clock_text(SimTime::from_secs_f64(s));
        let maybe = |s: Option<f64>| s.map_or_else(|| "—".to_owned(), clock);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "== {} · seed {} · {} at {} ==",
            self.drill,
            self.seed,
            self.ended_by_text(),
            clock(self.at_seconds)
        );
        let _ = writeln!(out, "\nwhat happened");
        for f in self.truth.faults_in_time_order() {
            let _ = writeln!(
                out,
                "  fault {:<24} began {}",
                f.name,
                maybe(f.started_seconds)
            );
        }
        let _ = writeln!(
            out,
            "  first page                     {}",
            maybe(self.truth.first_page_seconds)
        );
        let _ = writeln!(
            out,
            "  recovered                      {}",
            maybe(self.truth.recovered_seconds)
        );
        let t = &self.team;
        let _ = writeln!(out, "\nthe team ({} commands)", t.commands);
        let _ = writeln!(
            out,
            "  acknowledged                   {}",
            maybe(t.acknowledged_seconds)
        );
        let sev = t.severity.map(|s| format!(" (sev{s})")).unwrap_or_default();
        let _ = writeln!(
            out,
            "  declared                       {}{sev}",
            maybe(t.declared_seconds)
        );
        let wrong = if t.wrong_diagnoses > 0 {
            format!(" after {} wrong guesses", t.wrong_diagnoses)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "  diagnosed                      {}{wrong}",
            maybe(t.diagnosed_seconds)
        );
        for a in &t.actions {
            let _ = writeln!(
                out,
                "  {:<30} {} ({}), in effect {}",
                a.input,
                clock(a.at_seconds),
                a.role,
                clock(a.lands_seconds)
            );
        }
        let _ = writeln!(
            out,
            "  resolved                       {}",
            maybe(t.resolved_seconds)
        );
        if !self.checklist.is_empty() {
            let _ = writeln!(
                out,
                "\nchecklists: {} of {} points",
                self.points.earned, self.points.possible
            );
            for r in &self.checklist {
                let by = |by: &str| super::checklist::done_by(by, &r.role);
                let status = match &r.status {
                    Status::OnTime { by: b, .. } => format!("on time ({})", by(b)),
                    Status::Late {
                        by: b,
                        late_seconds,
                        ..
                    } => {
                        format!(
                            "late by {} ({})",
                            crate::drill::Duration::from_secs(late_seconds.round() as u64),
                            by(b)
                        )
                    }
                    Status::Premature { by: b, .. } => {
                        format!("premature ({}): done before the system recovered", by(b))
                    }
                    Status::Missed => "missed".to_owned(),
                    Status::Overdue => "overdue".to_owned(),
                    Status::Open => "open".to_owned(),
                };
                let _ = writeln!(
                    out,
                    "  {:<7} {:<44} {:>3}/{:<3} {status}",
                    r.role, r.text, r.earned, r.points
                );
            }
        }
        let _ = writeln!(out, "\nthe system");
        for line in self.simulation.render_text().lines().skip(1) {
            if line.is_empty() {
                out.push('\n');
            } else {
                let _ = writeln!(out, "  {line}");
            }
        }
        out
    }

    fn ended_by_text(&self) -> &str {
        match self.ended_by.as_str() {
            "end" => "ended by the team",
            "duration" => "ran its course",
            _ => "in progress",
        }
    }
}

//! The team's record: every accepted command with its simulated time and role, and what it
//! meant (which alerts an `ack` covered, whether a diagnosis was right, when an action lands).
//! Everything else about the team — who declared, when, how many notes — is derived from
//! this log, so the log is the one source of truth for scoring and the debrief.

use serde::Serialize;

use super::command::Command;
use crate::sim::SimTime;

/// What an accepted command amounted to, beyond its text.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Detail {
    None,
    /// The alerts this `ack` acknowledged.
    Acked {
        alerts: Vec<String>,
    },
    /// Whether a `diagnose` named the root cause.
    Diagnosis {
        correct: bool,
    },
    /// When an ordered action takes effect.
    Ordered {
        lands: SimTime,
    },
}

/// One accepted command.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub at: SimTime,
    pub role: String,
    /// The command as typed, without its role prefix.
    pub input: String,
    pub command: Command,
    pub detail: Detail,
}

/// The team's log, in the order commands were accepted.
#[derive(Debug, Clone, Default)]
pub struct Team {
    pub log: Vec<Entry>,
    /// Who held each role from the start (`--people`), before any `assign`.
    pub people: Vec<(String, String)>,
}

impl Team {
    /// Entries that did something (not just looked).
    pub fn acts(&self) -> impl Iterator<Item = &Entry> {
        self.log.iter().filter(|e| {
            !e.command.is_look() && !matches!(e.command, Command::Wait(_) | Command::WaitUntilPage)
        })
    }

    /// The first entry of the command called `name` (`declare`, `throttle`).
    #[must_use]
    pub fn first(&self, name: &str) -> Option<&Entry> {
        self.log.iter().find(|e| e.command.name() == name)
    }

    /// Every entry of the command called `name`.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Entry> + 'a {
        self.log.iter().filter(move |e| e.command.name() == name)
    }

    /// Drill actions ordered, in order.
    pub fn actions(&self) -> impl Iterator<Item = &Entry> {
        self.log
            .iter()
            .filter(|e| matches!(e.command, Command::Action { .. }))
    }

    /// The first correct diagnosis.
    #[must_use]
    pub fn diagnosed(&self) -> Option<&Entry> {
        self.log
            .iter()
            .find(|e| e.detail == Detail::Diagnosis { correct: true })
    }

    #[must_use]
    pub fn wrong_diagnoses(&self) -> usize {
        self.log
            .iter()
            .filter(|e| e.detail == Detail::Diagnosis { correct: false })
            .count()
    }

    /// Whether `alert` was acknowledged at or after `since` (its current firing began).
    #[must_use]
    pub fn acked_since(&self, alert: &str, since: SimTime) -> bool {
        self.log.iter().any(|e| {
            e.at >= since
                && matches!(&e.detail, Detail::Acked { alerts } if alerts.iter().any(|a| a == alert))
        })
    }

    /// Who holds each role: the people given at the start, then `assign comms sam`, latest
    /// assignment winning, in first-assigned order.
    #[must_use]
    pub fn assignments(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self.people.clone();
        for e in &self.log {
            if let Command::Assign { role, person } = &e.command {
                match out.iter_mut().find(|(r, _)| r == role) {
                    Some(slot) => slot.1.clone_from(person),
                    None => out.push((role.clone(), person.clone())),
                }
            }
        }
        out
    }

    /// The current declared severity, if declared.
    #[must_use]
    pub fn severity(&self) -> Option<u8> {
        self.log.iter().rev().find_map(|e| match e.command {
            Command::Declare(s) => Some(s),
            _ => None,
        })
    }
}

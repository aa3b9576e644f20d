//! Change files: an action item of a postmortem written in the drill's own syntax, for the
//! parts of the system it replaces (`firedrill whatif`, `capacity`, `postmortem`).
//!
//! ```ron
//! Change(
//!     title: "Grow the db pool to 40",
//!     owner: "ops",
//!     kind: Prevent,
//!     pools: [Pool(name: "db", size: 40, acquire_timeout: "2s")],
//! )
//! ```
//!
//! A change replaces elements of the system by name (a pool, a step of the service, an
//! alert, an action; an alert, action or pool of a new name is added), or a whole part
//! (`traffic`, the service's `retries` and `max_in_flight`). Faults, injects, roles and
//! objectives are not in it: the incident stays the incident. This module holds the type and
//! [`apply`]; reading a file with every problem at its line and column is `load::load_change`,
//! and the changed drill is checked by `validate` like any other.

use serde::{Deserialize, Serialize};

use super::spec::{Action, Alert, Drill, Pool, Retries, Step, Traffic};

/// What an action item does about the incident (PagerDuty's postmortem vocabulary).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
pub enum ChangeKind {
    /// Stops the incident from happening.
    #[default]
    Prevent,
    /// Makes it hurt less when it happens.
    Mitigate,
    /// Finds it sooner.
    Detect,
}

impl ChangeKind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Prevent => "prevent",
            ChangeKind::Mitigate => "mitigate",
            ChangeKind::Detect => "detect",
        }
    }
}

/// One change file.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    /// The action item, as the postmortem lists it.
    pub title: String,
    /// Who owns it (a role or a person).
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub kind: Option<ChangeKind>,
    /// Pools replaced by name (or added).
    #[serde(default)]
    pub pools: Vec<Pool>,
    /// The service's steps replaced by name.
    #[serde(default)]
    pub steps: Vec<Step>,
    /// The service's client retries.
    #[serde(default)]
    pub retries: Option<Retries>,
    /// The service's most requests in flight.
    #[serde(default)]
    pub max_in_flight: Option<i64>,
    /// Alerts replaced by name (or added).
    #[serde(default)]
    pub alerts: Vec<Alert>,
    /// Actions replaced by name (or added): a new runbook command the team could use.
    #[serde(default)]
    pub actions: Vec<Action>,
    /// The whole traffic curve.
    #[serde(default)]
    pub traffic: Option<Traffic>,
}

/// The fields of `Change`, in the order a change file may give them (for messages).
pub const CHANGE_FIELDS: &[&str] = &[
    "title",
    "owner",
    "kind",
    "pools",
    "steps",
    "retries",
    "max_in_flight",
    "alerts",
    "actions",
    "traffic",
];

/// Parts of a drill a change may not touch, with why (for messages).
pub const UNCHANGEABLE: &[(&str, &str)] = &[
    ("faults", "the incident stays the incident"),
    ("injects", "the incident stays the incident"),
    ("roles", "the people stay the people"),
    ("objectives", "the incident is judged as before"),
    ("reference", "the reference response belongs to the drill"),
    ("wrong_responses", "the wrong responses belong to the drill"),
    ("root_cause", "the incident stays the incident"),
    ("duration", "the incident is compared over the same time"),
    ("seed", "runs are compared on the same seeds"),
];

impl Change {
    #[must_use]
    pub fn kind(&self) -> ChangeKind {
        self.kind.unwrap_or_default()
    }
}

/// A change that names something the drill does not have: `steps[0]` names no step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyProblem {
    /// Which change (by its position in the list given to [`apply`]).
    pub change: usize,
    /// The field of that change, e.g. `steps[1]`.
    pub field: String,
    pub message: String,
}

/// Replaces `items`' element of `item`'s name, or adds `item` when `add` allows it.
fn put<T: Clone>(items: &mut Vec<T>, item: &T, name: impl Fn(&T) -> &str, add: bool) -> bool {
    match items.iter_mut().find(|i| name(i) == name(item)) {
        Some(slot) => {
            *slot = item.clone();
            true
        }
        None if add => {
            items.push(item.clone());
            true
        }
        None => false,
    }
}

/// The drill with `changes` applied in order (later changes win where two touch the same
/// element); every step a change names must exist in the service.
///
/// # Errors
/// Every step named by a change that the service does not have.
pub fn apply(drill: &Drill, changes: &[&Change]) -> Result<Drill, Vec<ApplyProblem>> {
    let mut changed = drill.clone();
    let mut problems = Vec::new();
    for (c, change) in changes.iter().enumerate() {
        for pool in &change.pools {
            put(&mut changed.pools, pool, |p| &p.name, true);
        }
        for (i, step) in change.steps.iter().enumerate() {
            if !put(&mut changed.service.steps, step, |s| &s.name, false) {
                let known: Vec<&str> = drill
                    .service
                    .steps
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect();
                problems.push(ApplyProblem {
                    change: c,
                    field: format!("steps[{i}]"),
                    message: format!(
                        "the service has no step `{}` to replace (its steps: {}); a change \
                         replaces a step of the same name",
                        step.name,
                        known.join(", ")
                    ),
                });
            }
        }
        if let Some(retries) = &change.retries {
            changed.service.retries = Some(retries.clone());
        }
        if let Some(limit) = change.max_in_flight {
            changed.service.max_in_flight = Some(limit);
        }
        for alert in &change.alerts {
            put(&mut changed.alerts, alert, |a| &a.name, true);
        }
        for action in &change.actions {
            put(&mut changed.actions, action, |a| &a.name, true);
        }
        if let Some(traffic) = &change.traffic {
            changed.traffic = traffic.clone();
        }
    }
    if problems.is_empty() {
        Ok(changed)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drill::library;

    fn monday() -> Drill {
        let text = library::builtin("monday-rush").expect("in the library");
        crate::drill::load_str("monday-rush", text).expect("loads")
    }

    #[test]
    fn a_pool_is_replaced_by_name_and_the_rest_stays() {
        let drill = monday();
        let mut pool = drill.pools[0].clone();
        pool.size = 40;
        let change = Change {
            title: "Grow the pool".into(),
            owner: None,
            kind: None,
            pools: vec![pool],
            steps: Vec::new(),
            retries: None,
            max_in_flight: None,
            alerts: Vec::new(),
            actions: Vec::new(),
            traffic: None,
        };
        let changed = apply(&drill, &[&change]).expect("applies");
        assert_eq!(changed.pools.len(), drill.pools.len());
        assert_eq!(changed.pools[0].size, 40);
        assert_eq!(changed.faults, drill.faults);
        assert_eq!(changed.service, drill.service);
    }

    #[test]
    fn a_step_the_service_does_not_have_is_named() {
        let drill = monday();
        let mut step = drill.service.steps[0].clone();
        step.name = "no-such-step".into();
        let change = Change {
            title: "x".into(),
            owner: None,
            kind: None,
            pools: Vec::new(),
            steps: vec![step],
            retries: None,
            max_in_flight: None,
            alerts: Vec::new(),
            actions: Vec::new(),
            traffic: None,
        };
        let problems = apply(&drill, &[&change]).unwrap_err();
        assert_eq!(problems[0].field, "steps[0]");
        assert!(problems[0].message.contains("no-such-step"));
    }
}

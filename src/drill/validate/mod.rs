//! Semantic rules of a drill that serde cannot express: names that must be defined, names that
//! must be unique, numbers that must be in range, events that must be able to happen.
//!
//! [`validate`] checks a [`Drill`] that has already been read and returns every problem found,
//! each with the [`FieldPath`] of the offending value (`pools[0].size`). It knows nothing of
//! files, spans or rendering: [`super::load`] turns paths into positions and messages into
//! diagnostics. It never changes the drill and never fails.
//!
//! This file owns the entry points, the built-in command names and the walk over the drill's
//! sections in order (the order problems are reported in); the rules themselves are in the
//! submodules, one part of the drill each: the system (`system`: service, steps, pools,
//! traffic, telemetry; `calls`: a step's rate limit and retries, and `SetRetries`), faults, actions and their effects (`effects`), alerts and what the
//! team observes (`alerts`), people and scoring (`people`: roles, checklists, anchors, the
//! reference and wrong responses, the root cause), names and references (`names`), the cost
//! ceilings ([`limits`]), and the path and problem types (`problem`).

use std::collections::HashMap;

use super::spec::{Drill, Severity};

mod alerts;
mod calls;
mod effects;
pub mod limits;
mod names;
mod people;
mod problem;
mod system;

pub use alerts::warnings;
pub use problem::{FieldPath, Namespace, Reference, Segment, SemanticProblem};

use names::Names;
use people::AnchorUse;

/// The team commands every drill has, which count for checklists and anchors
/// (`Command("declare")`), besides the drill's own actions.
pub const BUILT_IN_COMMANDS: &[&str] = &[
    "ack", "declare", "assign", "update", "note", "diagnose", "resolve",
];

/// The looking commands: they change nothing, but a checklist task may ask for one after its
/// deadline's event ("verify recovery on the dashboard": `Command("dash")` due
/// `After(Recovered, "10m")`). Kept in step with the session by a test.
pub const LOOK_COMMANDS: &[&str] = &[
    "dash",
    "alerts",
    "logs",
    "metric",
    "checklist",
    "roles",
    "help",
];

/// The session's other commands (looking, the clock, `end`): a scripted line may use them,
/// and an action cannot take their names. Kept in step with the session by a test.
pub const SESSION_COMMANDS: &[&str] = &[
    "wait",
    "pause",
    "resume",
    "speed",
    "dash",
    "dashboard",
    "alerts",
    "logs",
    "metric",
    "checklist",
    "roles",
    "help",
    "end",
];

/// Checks every semantic rule of a drill and returns every problem, in the order of the drill's
/// sections.
#[must_use]
pub fn validate(drill: &Drill) -> Vec<SemanticProblem> {
    validate_with(drill, &HashMap::new())
}

/// [`validate`], with more names taken as defined: those of definitions the loader could not
/// read, so that references to them are not reported as unknown.
pub(crate) fn validate_with(
    drill: &Drill,
    also_defined: &HashMap<Namespace, Vec<String>>,
) -> Vec<SemanticProblem> {
    let mut checker = Checker::new(drill, also_defined);
    checker.drill();
    let mut problems = checker.problems;
    // The drill's what-if changes are checked on a drill that is valid itself (a problem of
    // the drill is not the change's).
    if problems.is_empty() && also_defined.is_empty() {
        problems.extend(whatif_problems(drill));
    }
    problems
}

/// Checks the lines of a responses file (`play --responses`) against `drill`, as the drill's
/// own reference is checked: anchors that can happen before the end, known roles (or `team`
/// in a drill without roles), known commands and actions with their params in bounds. Each
/// problem's path starts with the line's index in the file's list: `[2].input`.
#[must_use]
pub fn scripted_lines(drill: &Drill, says: &[crate::drill::spec::Say]) -> Vec<SemanticProblem> {
    let none = HashMap::new();
    let mut checker = Checker::new(drill, &none);
    for (i, say) in says.iter().enumerate() {
        checker.say(say, &FieldPath::from(vec![Segment::Index(i)]));
    }
    checker.problems
}

/// The drill's own what-if changes: each must apply to the drill, and the changed drill must
/// pass `check` (its problems are reported on the change, whole).
fn whatif_problems(drill: &Drill) -> Vec<SemanticProblem> {
    let mut problems = Vec::new();
    if drill.whatif.is_empty() {
        return problems;
    }
    let mut base = drill.clone();
    base.whatif.clear();
    for (i, change) in drill.whatif.iter().enumerate() {
        let path = FieldPath::root("whatif").index(i);
        let found: Vec<String> = match crate::drill::change::apply(&base, &[change]) {
            Err(ps) => ps
                .into_iter()
                .map(|p| format!("{}: {}", p.field, p.message))
                .collect(),
            Ok(changed) => validate(&changed).iter().map(ToString::to_string).collect(),
        };
        for message in found {
            problems.push(
                SemanticProblem::new(
                    path.clone(),
                    format!(
                        "the what-if `{}` does not give a valid drill: {message}",
                        change.title
                    ),
                    "invalid what-if",
                )
                .hint("a what-if change replaces pools, steps, alerts, actions, traffic or retries by name, and the changed drill must pass `check`"),
            );
        }
    }
    problems
}

/// Walks a drill once, collecting problems; the submodules add its checks.
struct Checker<'a> {
    drill: &'a Drill,
    pools: Names<'a>,
    steps: Names<'a>,
    faults: Names<'a>,
    alerts: Names<'a>,
    actions: Names<'a>,
    roles: Names<'a>,
    has_page_alert: bool,
    problems: Vec<SemanticProblem>,
}

impl<'a> Checker<'a> {
    fn new(drill: &'a Drill, also_defined: &'a HashMap<Namespace, Vec<String>>) -> Self {
        let also = |namespace| also_defined.get(&namespace);
        Checker {
            drill,
            pools: Names::new(
                drill.pools.iter().map(|p| p.name.as_str()),
                also(Namespace::Pool),
            ),
            steps: Names::new(
                drill.service.steps.iter().map(|s| s.name.as_str()),
                also(Namespace::Step),
            ),
            faults: Names::new(
                drill.faults.iter().map(|f| f.name.as_str()),
                also(Namespace::Fault),
            ),
            alerts: Names::new(
                drill.alerts.iter().map(|a| a.name.as_str()),
                also(Namespace::Alert),
            ),
            actions: Names::new(
                drill.actions.iter().map(|a| a.name.as_str()),
                also(Namespace::Action),
            ),
            roles: Names::new(
                drill.roles.iter().map(|r| r.id.as_str()),
                also(Namespace::Role),
            ),
            has_page_alert: drill.alerts.iter().any(|a| a.severity == Severity::Page),
            problems: Vec::new(),
        }
    }

    fn push(&mut self, problem: SemanticProblem) {
        self.problems.push(problem);
    }

    /// Reports a problem at `path`: what is wrong, a label for the spot, and how to fix it.
    fn report(
        &mut self,
        path: FieldPath,
        message: impl Into<String>,
        label: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.push(SemanticProblem::new(path, message, label).hint(hint));
    }

    /// Every section of the drill, in order.
    fn drill(&mut self) {
        let drill = self.drill;
        if drill.name.trim().is_empty() {
            self.report(
                FieldPath::root("name"),
                "the drill's name is empty",
                "empty name",
                "name the drill in a word or two, e.g. `name: \"monday-rush\"`; reports use it",
            );
        }
        if drill.duration.is_zero() {
            self.report(
                FieldPath::root("duration"),
                "the drill lasts no time",
                "zero duration",
                "give it a length in simulated time, e.g. `duration: \"2h\"`",
            );
        }
        if !(0.0..=1.0).contains(&drill.shed_tolerance) {
            self.report(
                FieldPath::root("shed_tolerance"),
                format!(
                    "`shed_tolerance` is {}, but it is a share of arrivals",
                    drill.shed_tolerance
                ),
                "not a fraction",
                "write a fraction from 0 to 1, e.g. `shed_tolerance: 0.05` (the default) lets the team's throttles reject up to 5% of arrivals in a recovered system",
            );
        }
        self.telemetry();
        self.traffic();
        self.pools();
        self.service();
        self.unique(
            drill.faults.iter().map(|f| f.name.as_str()),
            &FieldPath::root("faults"),
            "name",
            "fault",
        );
        for (i, fault) in drill.faults.iter().enumerate() {
            self.fault(fault, &FieldPath::root("faults").index(i));
        }
        self.unique(
            drill.alerts.iter().map(|a| a.name.as_str()),
            &FieldPath::root("alerts"),
            "name",
            "alert",
        );
        for (i, alert) in drill.alerts.iter().enumerate() {
            self.alert(alert, &FieldPath::root("alerts").index(i));
        }
        for (i, inject) in drill.injects.iter().enumerate() {
            self.anchor(
                &inject.at,
                &FieldPath::root("injects").index(i).field("at"),
                AnchorUse::Inject,
            );
        }
        self.unique(
            drill.actions.iter().map(|a| a.name.as_str()),
            &FieldPath::root("actions"),
            "name",
            "action",
        );
        for (i, action) in drill.actions.iter().enumerate() {
            self.action(action, &FieldPath::root("actions").index(i));
        }
        self.roles();
        for (i, say) in drill.reference.iter().enumerate() {
            self.say(say, &FieldPath::root("reference").index(i));
        }
        self.observation();
        self.budget();
        self.root_cause();
        self.wrong_responses();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_drill_is_valid() {
        let text = include_str!("../../../drills/monday-rush.ron");
        let drill = crate::drill::parse_str(text).unwrap();
        assert_eq!(validate(&drill), []);
    }
}

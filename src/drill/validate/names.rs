//! Names and references: the names each kind of definition has ([`Names`]), references to
//! pools, steps, faults, alerts, actions, roles and commands (each reported with a "did you
//! mean" when unknown), empty names, and names given twice.
//!
//! It does not know which fields hold names: the section checks pass them in.

use std::collections::{HashMap, HashSet};

use super::{BUILT_IN_COMMANDS, Checker, FieldPath, Namespace, Reference, SemanticProblem};
use crate::drill::suggest;

/// The names of one kind of definition: in order (for hints) and as a set (for lookups).
pub(super) struct Names<'a> {
    pub(super) list: Vec<&'a str>,
    pub(super) set: HashSet<&'a str>,
}

impl<'a> Names<'a> {
    pub(super) fn new(
        defined: impl Iterator<Item = &'a str>,
        also: Option<&'a Vec<String>>,
    ) -> Self {
        let mut names = Names {
            list: Vec::new(),
            set: HashSet::new(),
        };
        for name in defined.chain(also.into_iter().flatten().map(String::as_str)) {
            if names.set.insert(name) {
                names.list.push(name);
            }
        }
        names
    }

    pub(super) fn contains(&self, name: &str) -> bool {
        self.set.contains(name)
    }
}

/// Problems after which unknown names get no "did you mean" (it costs an edit distance per
/// defined name; a generated file can have many thousands of both).
const MAX_SUGGESTIONS: usize = 500;

impl Checker<'_> {
    /// A reference to a team command: built in, or a drill action. Reports it if unknown.
    pub(super) fn command_ref(&mut self, name: &str, path: FieldPath) -> bool {
        if BUILT_IN_COMMANDS.contains(&name) || self.actions.contains(name) {
            return true;
        }
        let known = BUILT_IN_COMMANDS.iter().chain(&self.actions.list).copied();
        let closest = if self.problems.len() < MAX_SUGGESTIONS {
            suggest::closest(name, known)
        } else {
            None
        };
        let hint = match closest {
            Some(best) => format!("did you mean `{best}`?"),
            None if self.actions.list.is_empty() => format!(
                "the commands are the built-in {} (the drill defines no actions)",
                suggest::list(BUILT_IN_COMMANDS)
            ),
            None => format!(
                "the commands are the built-in {} and the drill's actions {}",
                suggest::list(BUILT_IN_COMMANDS),
                suggest::list(&self.actions.list)
            ),
        };
        let mut problem =
            SemanticProblem::new(path, format!("unknown command `{name}`"), "unknown command")
                .hint(hint);
        problem.reference = Some(Reference {
            namespace: Namespace::Action,
            name: Some(name.to_owned()),
        });
        self.push(problem);
        false
    }

    pub(super) fn pool_ref(&mut self, name: &str, path: FieldPath) {
        self.reference(name, path, Namespace::Pool);
    }

    pub(super) fn step_ref(&mut self, name: &str, path: FieldPath) {
        self.reference(name, path, Namespace::Step);
    }

    /// A reference to a pool, step, fault, alert or role by name. Reports it if undefined.
    pub(super) fn reference(&mut self, name: &str, path: FieldPath, namespace: Namespace) {
        let (defined, singular, plural, section) = match namespace {
            Namespace::Pool => (&self.pools, "pool", "pools", "pools"),
            Namespace::Step => (&self.steps, "step", "steps", "service.steps"),
            Namespace::Fault => (&self.faults, "fault", "faults", "faults"),
            Namespace::Alert => (&self.alerts, "alert", "alerts", "alerts"),
            Namespace::Action => (&self.actions, "action", "actions", "actions"),
            Namespace::Role => (&self.roles, "role", "roles", "roles"),
        };
        if defined.contains(name) {
            return;
        }
        let candidates: &[&str] = if self.problems.len() < MAX_SUGGESTIONS {
            &defined.list
        } else {
            &[]
        };
        let hint = suggest::unknown_reference(name, candidates, &defined.list, plural, section);
        let mut problem = SemanticProblem::new(
            path,
            format!("unknown {singular} `{name}`"),
            format!("no such {singular}"),
        )
        .hint(hint);
        problem.reference = Some(Reference {
            namespace,
            name: Some(name.to_owned()),
        });
        self.push(problem);
    }

    pub(super) fn name_not_empty(&mut self, name: &str, path: &FieldPath, what: &str) {
        if name.trim().is_empty() {
            self.report(
                path.clone(),
                format!("a {what} has an empty name"),
                "empty name",
                format!("give the {what} a name: other parts of the drill refer to it by name"),
            );
        }
    }

    /// Reports every name that repeats an earlier one, at the repeat, with the first as related.
    /// `field` is the name's field in each element, or empty when the list holds the names.
    pub(super) fn unique<'n>(
        &mut self,
        names: impl Iterator<Item = &'n str>,
        list: &FieldPath,
        field: &'static str,
        what: &str,
    ) {
        let mut first: HashMap<&str, usize> = HashMap::new();
        for (i, name) in names.enumerate() {
            if name.trim().is_empty() {
                continue;
            }
            let at = |index: usize| {
                let element = list.index(index);
                if field.is_empty() {
                    element
                } else {
                    element.field(field)
                }
            };
            match first.get(name) {
                Some(&earlier) => {
                    let mut problem = SemanticProblem::new(
                        at(i),
                        format!("there are two {what}s named `{name}`"),
                        format!("duplicate {what}"),
                    )
                    .hint(format!(
                        "rename one of them: other parts of the drill refer to a {what} by its name"
                    ));
                    problem.related = Some((at(earlier), "first defined here".to_owned()));
                    self.push(problem);
                }
                None => {
                    first.insert(name, i);
                }
            }
        }
    }
}

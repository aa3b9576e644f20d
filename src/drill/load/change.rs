//! Reading a change file (`Change(title: .., pools: [..], ..)`) against the drill it changes,
//! every problem at once at its line and column, as a drill is read: syntax, unknown fields, a
//! part of the incident a change may not touch (faults, roles, ...), values that do not
//! deserialize, a step the service lacks, and every semantic problem of the changed drill that
//! lies in what the change gave (a pool of size 0, an alert on an unknown step), placed on that
//! value in the change file. A problem of the changed drill elsewhere (the drill's own
//! reference now out of a changed action's bounds) is reported at the change's head.
//!
//! The type and how a change applies are [`crate::drill::change`]; this module only reads.

use std::collections::HashMap;
use std::path::Path;

use super::place::head;
use super::problem::Related;
use super::{LoadError, Loader, invalid, parse_source, read_file};
use crate::drill::change::{self, CHANGE_FIELDS, Change, UNCHANGEABLE};
use crate::drill::cst::{Document, Field, Kind, Node};
use crate::drill::spec::Drill;
use crate::drill::suggest;
use crate::drill::validate::{self, FieldPath, Segment, SemanticProblem};

const EMPTY_HINT: &str = "a change file holds one `Change(title: ..., ...)`; see \
                          docs/drill-format.md, \"Change files\"";

/// Reads and checks a change file against `base`, the drill it changes.
///
/// # Errors
/// [`LoadError::Io`] if the file cannot be read; [`LoadError::Invalid`] with every problem.
pub fn load_change_file(path: &Path, base: &Drill) -> Result<Change, LoadError> {
    let (name, text) = read_file(path, "a change")?;
    load_change_str(&name, &text, base)
}

/// Reads and checks a change from text; `name` names it in diagnostics.
///
/// # Errors
/// [`LoadError::Invalid`] with every problem found.
pub fn load_change_str(name: &str, text: &str, base: &Drill) -> Result<Change, LoadError> {
    let (source, text, document) = parse_source(name, text, EMPTY_HINT)?;
    let mut loader = Loader::new(&source, &text);
    let change = loader.change(&document, base);
    match change {
        Some(change) if loader.problems.is_empty() => Ok(change),
        _ => Err(invalid(name, loader.problems)),
    }
}

impl Loader<'_> {
    /// The fields of the root `Change(...)`; `None` (reported) if the root is not a struct.
    fn change_fields<'d>(&mut self, root: &'d Node) -> Option<&'d [Field]> {
        let fields: &[Field] = match &root.kind {
            Kind::Struct { fields, .. } => fields,
            Kind::Tuple { items, .. } if items.is_empty() => &[],
            _ => {
                let found = self.snippet(root);
                self.report_at(
                    head(self.text, root),
                    format!("expected `Change(...)`, found `{found}`"),
                    "not a change",
                    EMPTY_HINT,
                );
                return None;
            }
        };
        if let Some(name) = root.type_name()
            && name.text != "Change"
        {
            self.report_at(
                name.span,
                format!("expected `Change(...)`, found `{}(...)`", name.text),
                "not `Change`",
                EMPTY_HINT,
            );
        }
        Some(fields)
    }

    /// Reads a change and checks it against `base`.
    fn change(&mut self, document: &Document, base: &Drill) -> Option<Change> {
        self.extensions(document);
        let root = &document.root;
        let fields = self.change_fields(root)?;
        let mut given: HashMap<&str, &Field> = HashMap::new();
        for field in fields {
            let name = field.name.text.as_str();
            if let Some((_, why)) = UNCHANGEABLE.iter().find(|(n, _)| *n == name) {
                self.report_at(
                    field.name.span,
                    format!("a change cannot change `{name}`: {why}"),
                    "not changeable",
                    "a change replaces parts of the system: pools, steps, retries, \
                     max_in_flight, alerts, actions, traffic",
                );
            } else if !CHANGE_FIELDS.contains(&name) {
                self.report_at(
                    field.name.span,
                    format!("unknown field `{name}` in `Change`"),
                    "unknown field",
                    suggest::expected_one_of(name, CHANGE_FIELDS),
                );
            } else if let Some(first) = given.get(name) {
                let mut problem = self
                    .at(
                        field.name.span,
                        format!("field `{name}` is given twice in `Change`"),
                        "given again",
                    )
                    .with_hint(Some("remove one of them".to_owned()));
                problem
                    .related
                    .push(Related::new(first.name.span, "first given here"));
                self.report(problem);
            } else {
                given.insert(name, field);
            }
        }
        if !given.contains_key("title") {
            self.report_at(
                head(self.text, root),
                "missing field `title` in `Change`",
                "needs `title`",
                "add `title: \"Grow the db pool to 40\"`: the action item, as the postmortem lists it",
            );
        }
        let value = |name: &str| given.get(name).map(|field| &field.value);
        let change = Change {
            title: self.top(value("title"), "title").unwrap_or_default(),
            owner: self.top(value("owner"), "owner").unwrap_or_default(),
            kind: self.top(value("kind"), "kind").unwrap_or_default(),
            pools: self.list(value("pools"), FieldPath::root("pools"), None),
            steps: self.list(value("steps"), FieldPath::root("steps"), None),
            retries: self.top(value("retries"), "retries").unwrap_or_default(),
            max_in_flight: self
                .top(value("max_in_flight"), "max_in_flight")
                .unwrap_or_default(),
            alerts: self.list(value("alerts"), FieldPath::root("alerts"), None),
            actions: self.list(value("actions"), FieldPath::root("actions"), None),
            traffic: self.top(value("traffic"), "traffic").unwrap_or_default(),
        };
        if self.problems.is_empty() {
            self.check_against(root, &change, base);
        }
        Some(change)
    }

    /// Reports each pool the change adds that no step of the changed drill holds (most often
    /// a misspelt name, which would otherwise change nothing); true if there was one.
    fn unused_new_pools(
        &mut self,
        root: &Node,
        change: &Change,
        base: &Drill,
        changed: &Drill,
    ) -> bool {
        let known: Vec<&str> = base.pools.iter().map(|p| p.name.as_str()).collect();
        let mut found = false;
        for (i, pool) in change.pools.iter().enumerate() {
            let name = pool.name.as_str();
            let held = changed
                .service
                .steps
                .iter()
                .any(|s| s.pool_names().contains(&name));
            if known.contains(&name) || held {
                continue;
            }
            found = true;
            let hint = match suggest::closest(name, known.iter().copied()) {
                Some(near) => format!(
                    "did you mean `{near}`? A change replaces a pool of the same name; a new \
                     pool needs a changed step that holds it"
                ),
                None => "a change replaces a pool of the same name; a new pool needs a \
                         changed step that holds it"
                    .to_owned(),
            };
            let problem = SemanticProblem {
                path: FieldPath::root("pools").index(i).field("name"),
                message: format!(
                    "the drill has no pool `{name}`, and no step would hold it (its pools: {})",
                    known.join(", ")
                ),
                label: "unknown pool".to_owned(),
                hint: Some(hint),
                related: None,
                reference: None,
            };
            self.semantic(root, &problem);
        }
        found
    }

    /// The problems of `base` changed by `change`, placed in the change file.
    fn check_against(&mut self, root: &Node, change: &Change, base: &Drill) {
        let mut unknown_step = false;
        for (i, step) in change.steps.iter().enumerate() {
            if !base.service.steps.iter().any(|s| s.name == step.name) {
                unknown_step = true;
                let known: Vec<&str> = base.service.steps.iter().map(|s| s.name.as_str()).collect();
                let problem = SemanticProblem {
                    path: FieldPath::root("steps").index(i).field("name"),
                    message: format!(
                        "the service has no step `{}` to replace (its steps: {})",
                        step.name,
                        known.join(", ")
                    ),
                    label: "unknown step".to_owned(),
                    hint: Some(
                        "a change replaces a step of the same name; it does not add steps"
                            .to_owned(),
                    ),
                    related: None,
                    reference: None,
                };
                self.semantic(root, &problem);
            }
        }
        if unknown_step {
            return;
        }
        let Ok(changed) = change::apply(base, &[change]) else {
            return;
        };
        if self.unused_new_pools(root, change, base, &changed) {
            return;
        }
        for problem in validate::validate(&changed) {
            match in_change(&problem.path, change, &changed) {
                Some(path) => {
                    let related = problem.related.as_ref().and_then(|(p, label)| {
                        in_change(p, change, &changed).map(|p| (p, label.clone()))
                    });
                    self.semantic(
                        root,
                        &SemanticProblem {
                            path,
                            related,
                            ..problem.clone()
                        },
                    );
                }
                None => self.report_at(
                    head(self.text, root),
                    format!("with this change the drill does not pass `check`: {problem}"),
                    "breaks the drill",
                    problem.hint.clone().unwrap_or_else(|| {
                        "the drill's own reference and wrong responses must stay valid on the \
                         changed system"
                            .to_owned()
                    }),
                ),
            }
        }
    }
}

/// Where a value of the changed drill came from in the change, if the change gave it:
/// `pools[2].size` of the drill is `pools[0].size` of a change that replaced that pool.
fn in_change(path: &FieldPath, change: &Change, changed: &Drill) -> Option<FieldPath> {
    let segments = path.segments();
    let rest = |from: usize, base: FieldPath| {
        let mut all = base.segments().to_vec();
        all.extend_from_slice(&segments[from..]);
        FieldPath::from(all)
    };
    let by_name = |field: &'static str, names: Vec<&str>, name: Option<&str>, from: usize| {
        let j = names.iter().position(|n| Some(*n) == name)?;
        Some(rest(from, FieldPath::root(field).index(j)))
    };
    match segments {
        [Segment::Field("pools"), Segment::Index(i), ..] => by_name(
            "pools",
            change.pools.iter().map(|p| p.name.as_str()).collect(),
            changed.pools.get(*i).map(|p| p.name.as_str()),
            2,
        ),
        [Segment::Field("alerts"), Segment::Index(i), ..] => by_name(
            "alerts",
            change.alerts.iter().map(|a| a.name.as_str()).collect(),
            changed.alerts.get(*i).map(|a| a.name.as_str()),
            2,
        ),
        [Segment::Field("actions"), Segment::Index(i), ..] => by_name(
            "actions",
            change.actions.iter().map(|a| a.name.as_str()).collect(),
            changed.actions.get(*i).map(|a| a.name.as_str()),
            2,
        ),
        [
            Segment::Field("service"),
            Segment::Field("steps"),
            Segment::Index(i),
            ..,
        ] => by_name(
            "steps",
            change.steps.iter().map(|s| s.name.as_str()).collect(),
            changed.service.steps.get(*i).map(|s| s.name.as_str()),
            3,
        ),
        [Segment::Field("service"), Segment::Field("retries"), ..] if change.retries.is_some() => {
            Some(rest(2, FieldPath::root("retries")))
        }
        [
            Segment::Field("service"),
            Segment::Field("max_in_flight"),
            ..,
        ] if change.max_in_flight.is_some() => Some(rest(2, FieldPath::root("max_in_flight"))),
        [Segment::Field("traffic"), ..] if change.traffic.is_some() => {
            Some(rest(1, FieldPath::root("traffic")))
        }
        _ => None,
    }
}

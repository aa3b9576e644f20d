//! Reading a parsed document into a [`Drill`] piece by piece: the top-level fields of
//! `Drill(...)` (unknown, repeated and missing ones reported), each element of the list-valued
//! sections on its own, the service's steps and the roles' checklists apart from their shells,
//! and what could not be read, so that references to it are not reported.
//!
//! It does not word ron's errors nor place semantic problems in the file (that is `place`),
//! and does not handle files ([`super`]).

use std::collections::HashMap;

use serde::de::DeserializeOwned;

use super::Loader;
use super::place::{head, snippet};
use super::problem::{Problem, Related};
use crate::drill::cst::{Document, Field, Kind, Node};
use crate::drill::duration::Duration;
use crate::drill::spec::{Drill, Role, Service, Traffic};
use crate::drill::suggest;
use crate::drill::validate::{self, FieldPath, Namespace};

/// The fields of `Drill(...)`, in the order of [`Drill`]. A unit test keeps it in step with serde.
const DRILL_FIELDS: &[&str] = &[
    "name",
    "title",
    "briefing",
    "clock_start",
    "duration",
    "seed",
    "telemetry",
    "traffic",
    "pools",
    "service",
    "faults",
    "alerts",
    "injects",
    "actions",
    "root_cause",
    "roles",
    "objectives",
    "reference",
    "wrong_responses",
    "debrief",
    "dashboard",
    "shed_tolerance",
    "whatif",
];

/// The fields of `Drill(...)` without a default, and how to write each.
const REQUIRED_FIELDS: &[(&str, &str)] = &[
    ("name", "name: \"my-drill\""),
    ("title", "title: \"One line for the team\""),
    ("duration", "duration: \"2h\""),
    ("traffic", "traffic: Traffic(start_rps: 20.0)"),
    ("service", "service: Service(name: \"api\", steps: [...])"),
];

impl Loader<'_> {
    /// Reads the whole drill; `None` if the root is not a struct at all.
    pub(super) fn drill(&mut self, document: &Document) -> Option<Drill> {
        self.extensions(document);
        let root = &document.root;
        let fields = self.root_fields(root)?;
        let given = self.top_level_fields(root, fields);
        let value = |name: &str| given.get(name).map(|field| &field.value);
        let drill = Drill {
            name: self.top(value("name"), "name").unwrap_or_default(),
            title: self.top(value("title"), "title").unwrap_or_default(),
            briefing: self
                .top_optional(value("briefing"), "briefing")
                .unwrap_or_default(),
            clock_start: self
                .top(value("clock_start"), "clock_start")
                .unwrap_or_default(),
            // A drill of unknown length: no fault or inject is then reported as too late.
            duration: self
                .top(value("duration"), "duration")
                .unwrap_or(Duration::from_nanos(u64::MAX)),
            seed: self.top_optional(value("seed"), "seed").unwrap_or_default(),
            telemetry: self
                .top_optional(value("telemetry"), "telemetry")
                .unwrap_or_default(),
            traffic: self.top(value("traffic"), "traffic").unwrap_or(Traffic {
                arrivals: crate::drill::spec::Arrivals::default(),
                start_rps: 0.0,
                stages: Vec::new(),
            }),
            pools: self.list(
                value("pools"),
                FieldPath::root("pools"),
                Some((Namespace::Pool, "name")),
            ),
            service: self.service(value("service")),
            faults: self.list(
                value("faults"),
                FieldPath::root("faults"),
                Some((Namespace::Fault, "name")),
            ),
            alerts: self.list(
                value("alerts"),
                FieldPath::root("alerts"),
                Some((Namespace::Alert, "name")),
            ),
            injects: self.list(value("injects"), FieldPath::root("injects"), None),
            actions: self.list(
                value("actions"),
                FieldPath::root("actions"),
                Some((Namespace::Action, "name")),
            ),
            root_cause: self
                .top(value("root_cause"), "root_cause")
                .unwrap_or_default(),
            roles: self.roles(value("roles")),
            objectives: self
                .top(value("objectives"), "objectives")
                .unwrap_or_default(),
            reference: self.list(value("reference"), FieldPath::root("reference"), None),
            wrong_responses: self.list(
                value("wrong_responses"),
                FieldPath::root("wrong_responses"),
                None,
            ),
            debrief: self.top(value("debrief"), "debrief").unwrap_or_default(),
            dashboard: self.list(value("dashboard"), FieldPath::root("dashboard"), None),
            shed_tolerance: self
                .top_optional(value("shed_tolerance"), "shed_tolerance")
                .unwrap_or(crate::drill::spec::DEFAULT_SHED_TOLERANCE),
            whatif: self.list(value("whatif"), FieldPath::root("whatif"), None),
        };

        let unread_names = self
            .unread
            .iter()
            .map(|(namespace, unread)| (*namespace, unread.names.clone()))
            .collect();
        for problem in validate::validate_with(&drill, &unread_names) {
            self.semantic(root, &problem);
        }
        Some(drill)
    }

    /// Switches on the extensions of `#![enable(...)]` for every piece ron reads.
    pub(super) fn extensions(&mut self, document: &Document) {
        for extension in &document.extensions {
            if let Some(flag) = ron::extensions::Extensions::from_ident(&extension.text) {
                self.options = self.options.clone().with_default_extension(flag);
                continue;
            }
            let known = [
                "implicit_some",
                "unwrap_newtypes",
                "unwrap_variant_newtypes",
                "explicit_struct_names",
            ];
            self.report_at(
                extension.span,
                format!("unknown RON extension `{}`", extension.text),
                "unknown extension",
                suggest::expected_one_of(&extension.text, &known),
            );
        }
    }

    /// The fields of the root `Drill(...)`; `None` (reported) if the root is not a struct.
    pub(super) fn root_fields<'d>(&mut self, root: &'d Node) -> Option<&'d [Field]> {
        let fields: &[Field] = match &root.kind {
            Kind::Struct { fields, .. } => fields,
            Kind::Tuple { items, .. } if items.is_empty() => &[],
            _ => {
                let found = self.snippet(root);
                self.report_at(
                    head(self.text, root),
                    format!("expected `Drill(...)`, found `{found}`"),
                    "not a drill",
                    "a drill file holds one `Drill(name: ..., title: ..., ...)`",
                );
                return None;
            }
        };
        if let Some(name) = root.type_name()
            && name.text != "Drill"
        {
            let hint = if suggest::closest(&name.text, ["Drill"]).is_some() {
                "did you mean `Drill`?"
            } else {
                "a drill file holds one `Drill(name: ..., title: ..., ...)`"
            };
            self.report_at(
                name.span,
                format!("expected `Drill(...)`, found `{}(...)`", name.text),
                "not `Drill`",
                hint,
            );
        }
        Some(fields)
    }

    /// The known top-level fields by name, first occurrence only; reports unknown, repeated
    /// and missing fields (a required field is not reported missing when an unknown field
    /// looks like a misspelling of it).
    pub(super) fn top_level_fields<'d>(
        &mut self,
        root: &Node,
        fields: &'d [Field],
    ) -> HashMap<&'d str, &'d Field> {
        let mut given: HashMap<&str, &Field> = HashMap::new();
        let mut meant: Vec<&str> = Vec::new();
        for field in fields {
            let name = field.name.text.as_str();
            if !DRILL_FIELDS.contains(&name) {
                meant.extend(suggest::closest(name, DRILL_FIELDS.iter().copied()));
                self.report_at(
                    field.name.span,
                    format!("unknown field `{name}` in `Drill`"),
                    "unknown field",
                    suggest::expected_one_of(name, DRILL_FIELDS),
                );
            } else if let Some(first) = given.get(name) {
                let mut problem = self
                    .at(
                        field.name.span,
                        format!("field `{name}` is given twice in `Drill`"),
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
        for (name, example) in REQUIRED_FIELDS {
            if !given.contains_key(name) {
                self.fail(FieldPath::root(name));
                if !meant.contains(name) {
                    self.report_at(
                        head(self.text, root),
                        format!("missing field `{name}` in `Drill`"),
                        format!("needs `{name}`"),
                        format!("add `{example}`"),
                    );
                }
            }
        }
        given
    }

    /// A top-level field of the drill, if given and readable.
    pub(super) fn top<T: DeserializeOwned>(
        &mut self,
        node: Option<&Node>,
        name: &'static str,
    ) -> Option<T> {
        self.read(node?, None, &FieldPath::root(name))
    }

    /// A top-level field with a default, written with or without RON's explicit `Some(..)`
    /// (as `spec::optional` reads nested ones); `None` is reported.
    pub(super) fn top_optional<T: DeserializeOwned>(
        &mut self,
        node: Option<&Node>,
        name: &'static str,
    ) -> Option<T> {
        let node = node?;
        let path = FieldPath::root(name);
        let value = self.read::<Option<T>>(node, None, &path)?;
        if value.is_none() {
            self.report_at(
                node.span,
                format!("`None` is not a value for `{name}`"),
                "not a value",
                "leave the field out for its default, or give a value",
            );
            self.fail(path);
        }
        value
    }

    /// Deserializes `node` (or `text`, a copy of it with holes blanked out) with ron, reporting
    /// ron's error at its place in the file and remembering `path` as failed.
    pub(super) fn read<T: DeserializeOwned>(
        &mut self,
        node: &Node,
        text: Option<&str>,
        path: &FieldPath,
    ) -> Option<T> {
        let original = &self.text[node.span.start..node.span.end];
        match self.options.from_str::<T>(text.unwrap_or(original)) {
            Ok(value) => Some(value),
            Err(error) => {
                let problem = self.ron_problem(&error, node);
                self.report(problem);
                self.fail(path.clone());
                None
            }
        }
    }

    /// A list-valued section, each element read on its own. `named` says which kind of thing
    /// the elements define and in which field, to track names that could not be read.
    pub(super) fn list<T: DeserializeOwned>(
        &mut self,
        node: Option<&Node>,
        path: FieldPath,
        named: Option<(Namespace, &str)>,
    ) -> Vec<T> {
        let Some(node) = node else {
            return Vec::new();
        };
        let Kind::List(items) = &node.kind else {
            self.not_a_list(node, &path);
            if let Some((namespace, _)) = named {
                self.unread_unnamed(namespace);
            }
            return Vec::new();
        };
        let mut values = Vec::new();
        let mut indices = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let item_path = path.index(i);
            if matches!(named, Some((Namespace::Fault | Namespace::Action, _)))
                && let Some(problem) = self.effects_shape(item)
            {
                self.report(problem);
                self.fail(item_path);
                if let Some((namespace, field)) = named {
                    self.unread_name(namespace, item, field);
                }
                continue;
            }
            match self.read(item, None, &item_path) {
                Some(value) => {
                    values.push(value);
                    indices.push(i);
                    self.read_ok.insert(item_path);
                }
                None => {
                    if let Some((namespace, field)) = named {
                        self.unread_name(namespace, item, field);
                    }
                }
            }
        }
        self.file_indices.insert(path, indices);
        values
    }

    /// A fault's or action's `effect:` given a list, or `effects:` given one effect: ron
    /// would only say "expected identifier" or "expected a list".
    pub(super) fn effects_shape(&self, item: &Node) -> Option<Problem> {
        if let Some(effect) = item.field("effect")
            && let Kind::List(effects) = &effect.value.kind
        {
            let inside = effects
                .iter()
                .map(|e| self.snippet(e))
                .collect::<Vec<_>>()
                .join(", ");
            return Some(
                self.at(
                    effect.name.span,
                    "`effect` takes one effect, but a list is given",
                    "one effect, not a list",
                )
                .with_hint(Some(format!(
                    "for several effects write `effects: [{inside}]` (with an s)"
                ))),
            );
        }
        if let Some(effects) = item.field("effects")
            && !matches!(effects.value.kind, Kind::List(_))
        {
            let one = self.snippet(&effects.value);
            return Some(
                self.at(
                    head(self.text, &effects.value),
                    format!("`effects` takes a list of effects, found `{one}`"),
                    "not a list",
                )
                .with_hint(Some(format!(
                    "write `effects: [{one}]`, or `effect: {one}` for a single effect"
                ))),
            );
        }
        None
    }

    pub(super) fn not_a_list(&mut self, node: &Node, path: &FieldPath) {
        let found = self.snippet(node);
        self.report_at(
            head(self.text, node),
            format!("`{path}` must be a list `[...]`, found `{found}`"),
            "not a list",
            format!("write `{path}: [...]`, with one element per item"),
        );
        self.fail(path.clone());
    }

    pub(super) fn unread_name(&mut self, namespace: Namespace, node: &Node, field: &str) {
        let entry = self.unread.entry(namespace).or_default();
        match node.field(field).and_then(|f| f.value.as_str()) {
            Some(name) => entry.names.push(name.to_owned()),
            None => entry.unnamed = true,
        }
    }

    /// The service: its own fields with `steps` blanked out, then each step on its own.
    pub(super) fn service(&mut self, node: Option<&Node>) -> Service {
        let path = FieldPath::root("service");
        let placeholder = |steps| Service {
            name: String::new(),
            max_in_flight: None,
            retries: None,
            cost_per_1k_tokens: 0.0,
            steps,
        };
        let Some(node) = node else {
            self.unread_unnamed(Namespace::Step);
            return placeholder(Vec::new());
        };
        let (shell, steps, has_list) =
            self.with_list::<Service, _>(node, &path, "steps", Some((Namespace::Step, "name")));
        if let Some(mut service) = shell {
            if has_list {
                service.steps = steps;
            }
            return service;
        }
        if !has_list {
            self.unread_unnamed(Namespace::Step);
        }
        placeholder(steps)
    }

    /// The roles: each role's own fields with `checklist` blanked out, then each task.
    /// A role that cannot be read stays in place (as an empty role) so indices do not shift.
    pub(super) fn roles(&mut self, node: Option<&Node>) -> Vec<Role> {
        let path = FieldPath::root("roles");
        let Some(node) = node else {
            return Vec::new();
        };
        let Kind::List(items) = &node.kind else {
            self.not_a_list(node, &path);
            self.unread_unnamed(Namespace::Role);
            return Vec::new();
        };
        let mut roles = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let role_path = path.index(i);
            let (shell, tasks, has_list) =
                self.with_list::<Role, _>(item, &role_path, "checklist", None);
            if let Some(mut role) = shell {
                if has_list {
                    role.checklist = tasks;
                }
                self.read_ok.insert(role_path);
                roles.push(role);
                continue;
            }
            self.unread_name(Namespace::Role, item, "id");
            let id = item
                .field("id")
                .and_then(|f| f.value.as_str())
                .unwrap_or_default();
            roles.push(Role {
                id: id.to_owned(),
                title: String::new(),
                checklist: tasks,
            });
        }
        roles
    }

    /// A struct with a list-valued `field`, read in two: its own fields with the list blanked
    /// out, then each element of the list on its own (`named` as for [`Self::list`]). Returns
    /// the struct if it could be read, the elements (none if `field` holds no list), and
    /// whether it holds one.
    pub(super) fn with_list<T: DeserializeOwned, E: DeserializeOwned>(
        &mut self,
        node: &Node,
        path: &FieldPath,
        field: &'static str,
        named: Option<(Namespace, &str)>,
    ) -> (Option<T>, Vec<E>, bool) {
        let list = node
            .field(field)
            .map(|f| &f.value)
            .filter(|v| matches!(v.kind, Kind::List(_)));
        let shell_text = list.map(|list| self.blank(node, list));
        let shell = self.read(node, shell_text.as_deref(), path);
        let elements = match list {
            Some(list) => self.list(Some(list), path.field(field), named),
            None => Vec::new(),
        };
        (shell, elements, list.is_some())
    }

    /// The text of `node` with the inside of `list` replaced by spaces (newlines kept), so
    /// that ron reads `[ ]` there and every line and column stays where it was.
    pub(super) fn blank(&self, node: &Node, list: &Node) -> String {
        let text = &self.text[node.span.start..node.span.end];
        let (from, to) = (
            list.span.start + 1 - node.span.start,
            list.span.end - 1 - node.span.start,
        );
        let inside: String = text[from..to]
            .chars()
            .map(|c| if c == '\n' { '\n' } else { ' ' })
            .collect();
        format!("{}{inside}{}", &text[..from], &text[to..])
    }

    /// The first line of a node's text, shortened, for "found `...`" messages.
    pub(super) fn snippet(&self, node: &Node) -> String {
        snippet(&self.text[node.span.start..node.span.end])
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::drill::cst;
    use crate::drill::load::Source;
    use crate::drill::spec::Drill;

    #[test]
    fn drill_fields_match_serde() {
        let error = crate::drill::ron_options()
            .from_str::<Drill>("Drill(no_such_field: 0)")
            .unwrap_err();
        match error.code {
            ron::error::Error::NoSuchStructField { expected, .. } => {
                assert_eq!(expected, DRILL_FIELDS);
            }
            other => panic!("unexpected error {other:?}"),
        }
        for (name, _) in REQUIRED_FIELDS {
            assert!(DRILL_FIELDS.contains(name), "{name}");
        }
    }

    #[test]
    fn blanks_lists_keeping_positions() {
        let text = "Service(name: \"a\", steps: [\n  Step(é),\n])";
        let source = Source::new("t", text);
        let loader = Loader::new(&source, text);
        let document = cst::parse(text).unwrap();
        let steps = &document.root.field("steps").unwrap().value;
        let blanked = loader.blank(&document.root, steps);
        assert_eq!(blanked, "Service(name: \"a\", steps: [\n          \n])");
        assert_eq!(
            blanked
                .lines()
                .map(|l| l.chars().count())
                .collect::<Vec<_>>(),
            [27, 10, 2]
        );
    }
}

//! People and scoring: roles and their checklists (how a task is done, when it is due), anchors
//! and events, the reference response's and wrong responses' scripted lines (checked as the
//! session reads a typed line), and the root cause a diagnosis is matched against.
//!
//! It does not run the session or score anything: it only says whether these can happen.

use super::{
    BUILT_IN_COMMANDS, Checker, FieldPath, LOOK_COMMANDS, Namespace, Reference, SESSION_COMMANDS,
    SemanticProblem,
};
use crate::drill::spec::{Action, Anchor, Done, Event, Say, Task};
use crate::drill::suggest;

/// What an anchor times, to say whether it can come too late.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum AnchorUse {
    Inject,
    Deadline,
    Reference,
}

impl Checker<'_> {
    pub(super) fn roles(&mut self) {
        let drill = self.drill;
        let roles = FieldPath::root("roles");
        self.unique(
            drill.roles.iter().map(|r| r.id.as_str()),
            &roles,
            "id",
            "role",
        );
        for (i, role) in drill.roles.iter().enumerate() {
            let path = roles.index(i);
            self.name_not_empty(&role.id, &path.field("id"), "role");
            let checklist = path.field("checklist");
            self.unique(
                role.checklist.iter().map(|t| t.id.as_str()),
                &checklist,
                "id",
                "task",
            );
            for (j, task) in role.checklist.iter().enumerate() {
                let task_path = checklist.index(j);
                self.done(&task.done_by, &task_path.field("done_by"));
                self.look_task(task, &task_path);
                self.anchor(&task.due, &task_path.field("due"), AnchorUse::Deadline);
                if task.points < 0 {
                    self.report(
                        task_path.field("points"),
                        format!("task `{}` is worth {} points", task.id, task.points),
                        "must be 0 or more",
                        "points are what the task is worth when done; write 0 or more",
                    );
                }
            }
        }
    }

    /// A task done by looking counts a look only after its deadline's event, so it needs
    /// one: `due: After(Recovered, "10m")`, not `At("40m")` (any glance would do).
    fn look_task(&mut self, task: &Task, path: &FieldPath) {
        fn look(done: &Done) -> Option<&str> {
            match done {
                Done::Command(name) if LOOK_COMMANDS.contains(&name.as_str()) => Some(name),
                Done::Count(inner, _) => look(inner),
                Done::AnyOf(all) => all.iter().find_map(look),
                _ => None,
            }
        }
        let Some(name) = look(&task.done_by) else {
            return;
        };
        if !matches!(task.due, Anchor::At(_)) {
            return;
        }
        self.report(
            path.field("due"),
            format!(
                "task `{}` is done by looking (`{name}`), but its deadline has no event to look after",
                task.id
            ),
            "needs After(EVENT, ...)",
            format!(
                "a look counts only once the deadline's event has happened: e.g. `due: After(Recovered, \"10m\")` to verify recovery with `{name}`"
            ),
        );
    }

    pub(super) fn done(&mut self, done: &Done, path: &FieldPath) {
        match done {
            Done::Command(name) if name == "dashboard" => {
                self.report(
                    path.item(0),
                    "`dashboard` is the prompt's alias of `dash`",
                    "write `dash`",
                    "a checklist names the command as `dash`: `Command(\"dash\")`",
                );
            }
            Done::Command(name) if LOOK_COMMANDS.contains(&name.as_str()) => {}
            Done::Command(text) => match crate::drill::done_command(text) {
                Ok((name, _)) => {
                    self.command_ref(name, path.item(0));
                }
                Err("declare") => self.report(
                    path.item(0),
                    format!("`{text}` asks for a severity that does not exist"),
                    "not a severity",
                    "write `declare` and one of sev1 (worst) to sev5, e.g. `Command(\"declare sev2\")`, or `Command(\"declare\")` for any",
                ),
                Err(name) => {
                    if self.command_ref(name, path.item(0)) {
                        self.report(
                            path.item(0),
                            format!("`{text}`: a task names a command without its arguments"),
                            "arguments are not matched",
                            format!("write `Command(\"{name}\")`; only `declare` takes one, its severity (`declare sev2`)"),
                        );
                    }
                }
            },
            Done::AnyOf(all) => {
                if all.is_empty() {
                    self.report(
                        path.clone(),
                        "`AnyOf([])` can never be done: it lists nothing",
                        "empty",
                        "list the ways the task can be done, e.g. `AnyOf([Command(\"rollback\"), Command(\"disable-search\")])`",
                    );
                }
                for (k, inner) in all.iter().enumerate() {
                    self.done(inner, &path.item(0).index(k));
                }
            }
            Done::AnyAction => {
                if self.actions.list.is_empty() {
                    let mut problem = SemanticProblem::new(
                        path.clone(),
                        "`AnyAction` can never be done: the drill defines no actions",
                        "no actions",
                    )
                    .hint("define an action under `actions`, or complete the task with a `Command(...)`");
                    problem.reference = Some(Reference {
                        namespace: Namespace::Action,
                        name: None,
                    });
                    self.push(problem);
                }
            }
            Done::Diagnosis => {
                if self.drill.root_cause.is_none() {
                    self.report(
                        path.clone(),
                        "`Diagnosis` can never be done: the drill has no `root_cause`",
                        "no root cause",
                        "add `root_cause: RootCause(id: ..., accept: [...])`",
                    );
                }
            }
            Done::Count(inner, times) => {
                self.done(inner, &path.item(0));
                if *times == 0 {
                    self.report(
                        path.item(1),
                        "a count of 0 is done before anything happens",
                        "must be at least 1",
                        "count at least once, e.g. `Count(Command(\"note\"), 3)`",
                    );
                }
            }
        }
    }

    pub(super) fn anchor(&mut self, anchor: &Anchor, path: &FieldPath, used: AnchorUse) {
        match anchor {
            Anchor::At(at) => {
                let end = self.drill.duration;
                if *at >= end && used != AnchorUse::Deadline {
                    let what = if used == AnchorUse::Inject {
                        "this inject"
                    } else {
                        "this line"
                    };
                    self.report(
                        path.item(0),
                        format!(
                            "{what} is due at {at}, when the drill is already over (it lasts {end})"
                        ),
                        "after the end",
                        format!("make it earlier than {end}, or lengthen the drill's `duration`"),
                    );
                }
            }
            Anchor::After(event, _) => self.event(event, &path.item(0)),
        }
    }

    pub(super) fn event(&mut self, event: &Event, path: &FieldPath) {
        match event {
            Event::FirstPage | Event::Recovered => {
                if !self.has_page_alert {
                    let name = if *event == Event::FirstPage {
                        "FirstPage"
                    } else {
                        "Recovered"
                    };
                    let mut problem = SemanticProblem::new(
                        path.clone(),
                        format!("`{name}` never happens: no alert has severity `Page`"),
                        "never happens",
                    )
                    .hint("give an alert `severity: Page`, or anchor on `At(\"...\")` or another event");
                    problem.reference = Some(Reference {
                        namespace: Namespace::Alert,
                        name: None,
                    });
                    self.push(problem);
                }
            }
            Event::Command(name) => {
                self.command_ref(name, path.item(0));
            }
            Event::FaultStart(name) => {
                self.reference(name, path.item(0), Namespace::Fault);
            }
            Event::AlertFires(name) => {
                self.reference(name, path.item(0), Namespace::Alert);
            }
        }
    }

    pub(super) fn say(&mut self, say: &Say, path: &FieldPath) {
        self.anchor(&say.at, &path.field("at"), AnchorUse::Reference);
        // `team` acts in a drill that defines no roles, as the session allows.
        if !(say.role == "team" && self.drill.roles.is_empty()) {
            self.reference(&say.role, path.field("role"), Namespace::Role);
        }
        let input_path = path.field("input");
        let mut words = say.input.split_whitespace();
        let Some(head) = words.next() else {
            self.report(
                input_path,
                "the input is empty",
                "empty",
                "write the command the role types, e.g. \"ack\"",
            );
            return;
        };
        // As the session reads a line: built-in commands first, names in any case.
        if BUILT_IN_COMMANDS
            .iter()
            .chain(SESSION_COMMANDS)
            .any(|c| c.eq_ignore_ascii_case(head))
        {
            return;
        }
        let action = self
            .drill
            .actions
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(head));
        match action {
            Some(action) => self.action_input(action, words, &input_path),
            None if self
                .actions
                .list
                .iter()
                .any(|a| a.eq_ignore_ascii_case(head)) => {}
            None => {
                self.command_ref(head, input_path);
            }
        }
    }

    /// The `key=value` params after an action's name in a scripted line, as the session
    /// checks them: known keys, numbers, each once, none missing.
    pub(super) fn action_input<'w>(
        &mut self,
        action: &Action,
        words: impl Iterator<Item = &'w str>,
        path: &FieldPath,
    ) {
        let name = &action.name;
        let params: Vec<&str> = action.param_names();
        let mut given: Vec<&str> = Vec::new();
        for word in words {
            let problem = match word.split_once('=') {
                None => SemanticProblem::new(
                    path.clone(),
                    format!("`{word}` is not a param of action `{name}`: params are key=value"),
                    "not key=value",
                )
                .hint(format!("write e.g. \"{name} {}\"", params_usage(&params))),
                Some((key, _)) if !params.contains(&key) => {
                    let hint = match suggest::closest(key, params.iter().copied()) {
                        Some(best) => format!("did you mean `{best}=...`?"),
                        None if params.is_empty() => format!("`{name}` takes no params"),
                        None => format!("`{name}` takes {}", params_usage(&params)),
                    };
                    SemanticProblem::new(
                        path.clone(),
                        format!("`{key}` is not a param of action `{name}`"),
                        "unknown param",
                    )
                    .hint(hint)
                }
                Some((key, value)) if !value.parse::<f64>().is_ok_and(f64::is_finite) => {
                    SemanticProblem::new(
                        path.clone(),
                        format!("`{value}` is not a number (param `{key}` of action `{name}`)"),
                        "not a number",
                    )
                    .hint(format!("write e.g. {key}=40"))
                }
                Some((key, value))
                    if action
                        .param(key)
                        .and_then(|p| p.check(value.parse::<f64>().unwrap_or(0.0)).err())
                        .is_some() =>
                {
                    let why = action
                        .param(key)
                        .and_then(|p| p.check(value.parse::<f64>().unwrap_or(0.0)).err())
                        .unwrap_or_default();
                    SemanticProblem::new(
                        path.clone(),
                        format!("{why} (action `{name}`)"),
                        "out of bounds",
                    )
                    .hint(if action.help.is_empty() {
                        format!(
                            "the team could not type this: write e.g. \"{name} {}\"",
                            params_usage(&params)
                        )
                    } else {
                        action.help.clone()
                    })
                }
                Some((key, _)) if given.contains(&key) => SemanticProblem::new(
                    path.clone(),
                    format!("`{key}` is given twice"),
                    "given twice",
                )
                .hint("give each param once"),
                Some((key, _)) => {
                    given.push(key);
                    continue;
                }
            };
            self.push(problem);
            return;
        }
        let missing: Vec<&str> = params
            .iter()
            .copied()
            .filter(|p| !given.contains(p))
            .collect();
        if !missing.is_empty() {
            self.report(
                path.clone(),
                format!("action `{name}` needs {}", params_usage(&missing)),
                "missing param",
                format!("write e.g. \"{name} {}\"", params_usage(&params)),
            );
        }
    }

    /// The root cause's phrases each have a word to match, and its guess cost is a share.
    pub(super) fn root_cause(&mut self) {
        let Some(rc) = &self.drill.root_cause else {
            return;
        };
        let path = FieldPath::root("root_cause");
        let phrases = std::iter::once((path.field("id"), &rc.id)).chain(
            rc.accept
                .iter()
                .enumerate()
                .map(|(i, a)| (path.field("accept").index(i), a)),
        );
        let empty: Vec<(FieldPath, String)> = phrases
            .filter(|(_, phrase)| crate::drill::diagnosis::words(phrase).is_empty())
            .map(|(p, phrase)| (p, phrase.clone()))
            .collect();
        for (p, phrase) in empty {
            self.report(
                p,
                format!("`{phrase}` has no word to match a diagnosis against"),
                "no letters or digits",
                "a diagnosis matches when it contains every word of the id or of one accepted phrase, e.g. \"pool exhaustion\"",
            );
        }
        let kept = rc.kept_per_wrong_guess;
        if !(0.0..=1.0).contains(&kept) {
            self.report(
                path.field("kept_per_wrong_guess"),
                format!("`kept_per_wrong_guess` is {kept}, but it is a share of the diagnose task's points"),
                "must be from 0 to 1",
                "0.5 halves the points with each wrong guess (the default), 1 makes guessing free, 0 forfeits them at the first wrong guess",
            );
        }
    }

    /// Each wrong response has a unique name and lines checked like the reference's.
    pub(super) fn wrong_responses(&mut self) {
        let drill = self.drill;
        let path = FieldPath::root("wrong_responses");
        self.unique(
            drill.wrong_responses.iter().map(|r| r.name.as_str()),
            &path,
            "name",
            "wrong response",
        );
        for (i, response) in drill.wrong_responses.iter().enumerate() {
            let here = path.index(i);
            self.name_not_empty(&response.name, &here.field("name"), "wrong response");
            if response.says.is_empty() {
                self.report(
                    here.field("says"),
                    format!("wrong response `{}` says nothing", response.name),
                    "empty",
                    "list what the wrong team types, e.g. [Say(at: After(FirstPage, \"3m\"), role: \"ops\", input: \"throttle rps=10\")]; a response that does nothing is what no response already shows",
                );
            }
            for (j, say) in response.says.iter().enumerate() {
                self.say(say, &here.field("says").index(j));
            }
        }
    }
}

/// How a command's params are written: `rps=N size=N`.
fn params_usage(params: &[&str]) -> String {
    params
        .iter()
        .map(|p| format!("{p}=N"))
        .collect::<Vec<_>>()
        .join(" ")
}

//! Semantic rules of a drill that serde cannot express: names that must be defined, names that
//! must be unique, numbers that must be in range, events that must be able to happen.
//!
//! [`validate`] checks a [`Drill`] that has already been read and returns every problem found,
//! each with the [`FieldPath`] of the offending value (`pools[0].size`). It knows nothing of
//! files, spans or rendering: [`super::load`] turns paths into positions and messages into
//! diagnostics. It never changes the drill and never fails.

use std::collections::{HashMap, HashSet};
use std::fmt;

use super::duration::Duration;
use super::log_target::LogTarget;
use super::spec::{
    Action, ActionParam, Alert, Anchor, Condition, Done, Drill, Effect, Event, Fault, Metric,
    OnTimeout, Say, Severity, Step, TimeDist, Value,
};
use super::suggest;

/// The team commands every drill has, which count for checklists and anchors
/// (`Command("declare")`), besides the drill's own actions.
pub const BUILT_IN_COMMANDS: &[&str] = &[
    "ack", "declare", "assign", "update", "note", "diagnose", "resolve",
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

/// One step of a [`FieldPath`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    /// A named field: `.size`.
    Field(&'static str),
    /// An element of a list: `[2]`.
    Index(usize),
    /// A position in a tuple or tuple variant: `.0` in `PoolUtilization("db")`.
    Item(usize),
}

/// Where a value is in a drill, as written: `service.steps[1].pool`, `alerts[0].when.metric.0`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct FieldPath(Vec<Segment>);

impl FieldPath {
    /// The path of a top-level field of `Drill(...)`.
    #[must_use]
    pub fn root(field: &'static str) -> Self {
        FieldPath(vec![Segment::Field(field)])
    }

    #[must_use]
    pub fn field(&self, name: &'static str) -> Self {
        self.with(Segment::Field(name))
    }

    #[must_use]
    pub fn index(&self, index: usize) -> Self {
        self.with(Segment::Index(index))
    }

    #[must_use]
    pub fn item(&self, position: usize) -> Self {
        self.with(Segment::Item(position))
    }

    fn with(&self, segment: Segment) -> Self {
        let mut segments = self.0.clone();
        segments.push(segment);
        FieldPath(segments)
    }

    #[must_use]
    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// Whether `prefix` is this path or leads to it.
    #[must_use]
    pub fn starts_with(&self, prefix: &FieldPath) -> bool {
        self.0.starts_with(&prefix.0)
    }
}

impl From<Vec<Segment>> for FieldPath {
    fn from(segments: Vec<Segment>) -> Self {
        FieldPath(segments)
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Field(name) if i == 0 => f.write_str(name)?,
                Segment::Field(name) => write!(f, ".{name}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
                Segment::Item(position) => write!(f, ".{position}")?,
            }
        }
        Ok(())
    }
}

/// The kinds of things a drill defines by name and refers to elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Namespace {
    Pool,
    Step,
    Fault,
    Alert,
    /// Drill actions, and so the commands the team can type besides the built-in ones.
    Action,
    Role,
}

/// A reference to something that is not defined (`name`), or to a kind of thing of which
/// none suitable exists (no `name`: `FirstPage` with no page alert).
///
/// The loader uses it to stay quiet about references to definitions it could not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub namespace: Namespace,
    pub name: Option<String>,
}

/// One semantic problem: what is wrong, where, and how to fix it.
#[derive(Debug, Clone, PartialEq)]
pub struct SemanticProblem {
    /// The offending value.
    pub path: FieldPath,
    /// A sentence saying what is wrong, naming the thing.
    pub message: String,
    /// A few words to put at the spot (`unknown pool`).
    pub label: String,
    /// How to fix it.
    pub hint: Option<String>,
    /// Another place that explains the problem (the first definition of a duplicate name).
    pub related: Option<(FieldPath, String)>,
    /// Set when the problem is a name that refers to nothing defined.
    pub reference: Option<Reference>,
}

impl SemanticProblem {
    fn new(path: FieldPath, message: impl Into<String>, label: impl Into<String>) -> Self {
        SemanticProblem {
            path,
            message: message.into(),
            label: label.into(),
            hint: None,
            related: None,
            reference: None,
        }
    }

    fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for SemanticProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

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
    checker.problems
}

/// What a number in an effect must be.
#[derive(Debug, Clone, Copy)]
enum Range {
    /// Greater than zero.
    Positive,
    /// A whole number of at least one.
    Count,
    /// A probability, from 0 to 1.
    Fraction,
}

/// Where an effect is used: a fault (literal numbers only) or an action (its params).
#[derive(Clone, Copy)]
enum EffectUse<'a> {
    Fault,
    Action(&'a Action),
}

/// What an anchor times, to say whether it can come too late.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AnchorUse {
    Inject,
    Deadline,
    Reference,
}

/// The names of one kind of definition: in order (for hints) and as a set (for lookups).
struct Names<'a> {
    list: Vec<&'a str>,
    set: HashSet<&'a str>,
}

impl<'a> Names<'a> {
    fn new(defined: impl Iterator<Item = &'a str>, also: Option<&'a Vec<String>>) -> Self {
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

    fn contains(&self, name: &str) -> bool {
        self.set.contains(name)
    }
}

/// Problems after which unknown names get no "did you mean" (it costs an edit distance per
/// defined name; a generated file can have many thousands of both).
const MAX_SUGGESTIONS: usize = 500;

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
        self.unique(
            drill.pools.iter().map(|p| p.name.as_str()),
            &FieldPath::root("pools"),
            "name",
            "pool",
        );
        for (i, pool) in drill.pools.iter().enumerate() {
            let path = FieldPath::root("pools").index(i);
            self.name_not_empty(&pool.name, &path.field("name"), "pool");
            if pool.size <= 0 {
                self.report(
                    path.field("size"),
                    format!(
                        "pool `{}` has size {}; a pool needs at least one connection",
                        pool.name, pool.size
                    ),
                    "must be at least 1",
                    "set `size` to the number of connections, e.g. `size: 20`",
                );
            }
            if let Some(cores) = pool.cores
                && cores <= 0
            {
                self.report(
                    path.field("cores"),
                    format!("pool `{}` has {cores} database cores", pool.name),
                    "must be at least 1",
                    "give the database's CPU cores, e.g. `cores: 8`, or leave `cores` out for no contention",
                );
            }
        }
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

    /// Each wrong response has a unique name and lines checked like the reference's.
    fn wrong_responses(&mut self) {
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

    /// The root cause's phrases each have a word to match, and its guess cost is a share.
    fn root_cause(&mut self) {
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
            .filter(|(_, phrase)| super::diagnosis::words(phrase).is_empty())
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

    fn telemetry(&mut self) {
        let telemetry = &self.drill.telemetry;
        let path = FieldPath::root("telemetry");
        if telemetry.bucket.is_zero() {
            self.report(
                path.field("bucket"),
                "the telemetry bucket is 0s wide",
                "must be longer than 0s",
                "metrics are bucketed and alerts evaluated every `bucket`; the default is \"10s\"",
            );
        } else if telemetry.window < telemetry.bucket {
            self.report(
                path.field("window"),
                format!(
                    "the telemetry window ({}) is shorter than a bucket ({})",
                    telemetry.window, telemetry.bucket
                ),
                "shorter than `bucket`",
                "the window looks back over whole buckets: make it at least one bucket long",
            );
        }
        if !(0.0..=1.0).contains(&telemetry.log_sample) {
            self.report(
                path.field("log_sample"),
                format!("`log_sample` is {}, but it is a fraction of requests", telemetry.log_sample),
                "must be from 0 to 1",
                "write a fraction from 0 to 1, e.g. 0.001 logs one successful request in a thousand",
            );
        }
        if !(0.0..=1.0).contains(&telemetry.eval_sample) {
            self.report(
                path.field("eval_sample"),
                format!(
                    "`eval_sample` is {}, but it is a fraction of answers",
                    telemetry.eval_sample
                ),
                "must be from 0 to 1",
                "write a fraction from 0 to 1, e.g. 0.05 grades one answer in twenty",
            );
        }
    }

    fn traffic(&mut self) {
        let traffic = &self.drill.traffic;
        let path = FieldPath::root("traffic");
        self.rate(traffic.start_rps, &path.field("start_rps"), "`start_rps`");
        for (i, stage) in traffic.stages.iter().enumerate() {
            let stage_path = path.field("stages").index(i);
            if stage.over.is_zero() {
                self.report(
                    stage_path.field("over"),
                    format!("stage {i} has zero length"),
                    "zero length",
                    "give the ramp a length, e.g. `over: \"5m\"`; to jump at once, use a short one like \"1s\"",
                );
            }
            self.rate(stage.to_rps, &stage_path.field("to_rps"), "`to_rps`");
        }
    }

    /// A rate of requests: finite and not negative.
    fn rate(&mut self, rps: f64, path: &FieldPath, what: &str) {
        if !rps.is_finite() || rps < 0.0 {
            self.report(
                path.clone(),
                if rps.is_finite() {
                    format!("{what} is {rps}, but a rate of requests cannot be negative")
                } else {
                    format!("{what} is {rps}, but a rate of requests must be a finite number")
                },
                if rps.is_finite() {
                    "must be 0 or more"
                } else {
                    "must be finite"
                },
                "write requests per second, e.g. 20.0",
            );
        }
    }

    fn service(&mut self) {
        let service = &self.drill.service;
        let path = FieldPath::root("service");
        if let Some(limit) = service.max_in_flight
            && limit <= 0
        {
            self.report(
                path.field("max_in_flight"),
                format!("`max_in_flight` is {limit}, so every request would be rejected"),
                "must be at least 1",
                "set a positive limit, or leave `max_in_flight` out for no limit",
            );
        }
        if service.steps.is_empty() {
            self.report(
                path.field("steps"),
                "the service has no steps",
                "no steps",
                "add at least one step, e.g. `Step(name: \"handle\", time: Constant(\"50ms\"))`",
            );
        }
        if !(service.cost_per_1k_tokens.is_finite() && service.cost_per_1k_tokens >= 0.0) {
            self.report(
                path.field("cost_per_1k_tokens"),
                format!(
                    "`cost_per_1k_tokens` is {}, but a price cannot be negative",
                    service.cost_per_1k_tokens
                ),
                "must be 0 or more",
                "dollars per thousand tokens, e.g. 0.01",
            );
        }
        if let Some(retries) = &service.retries {
            let r = path.field("retries");
            if !(1..=100).contains(&retries.max_attempts) {
                self.report(
                    r.field("max_attempts"),
                    format!(
                        "`max_attempts` is {}; it counts the first attempt too",
                        retries.max_attempts
                    ),
                    "must be from 1 to 100",
                    "e.g. `max_attempts: 3` for two retries",
                );
            }
            if !(retries.multiplier.is_finite() && retries.multiplier >= 1.0) {
                self.report(
                    r.field("multiplier"),
                    format!(
                        "the backoff `multiplier` is {}, so waits would shrink",
                        retries.multiplier
                    ),
                    "must be at least 1",
                    "1 keeps every wait the same; 2 doubles it each retry",
                );
            }
            self.fraction(retries.jitter, &r.field("jitter"), "`jitter`");
            if let Some(budget) = retries.budget
                && !(budget.is_finite() && budget >= 0.0)
            {
                self.report(
                    r.field("budget"),
                    format!("the retry `budget` is {budget}"),
                    "must be 0 or more",
                    "retries allowed per first attempt, e.g. 0.2; leave it out for no budget",
                );
            }
        }
        let steps = path.field("steps");
        self.unique(
            service.steps.iter().map(|s| s.name.as_str()),
            &steps,
            "name",
            "step",
        );
        for (i, step) in service.steps.iter().enumerate() {
            self.step(step, &steps.index(i));
        }
    }

    fn step(&mut self, step: &Step, path: &FieldPath) {
        self.name_not_empty(&step.name, &path.field("name"), "step");
        if let Some(pool) = &step.pool {
            self.pool_ref(pool, path.field("pool"));
        }
        self.step_path(step, path);
        let time = path.field("time");
        match step.time {
            TimeDist::Constant(_) => {}
            TimeDist::Exponential { mean } => {
                if mean.is_zero() {
                    self.report(
                        time.field("mean"),
                        format!(
                            "step `{}` has an exponential time with a mean of 0s",
                            step.name
                        ),
                        "must be longer than 0s",
                        "give the mean step time, e.g. `Exponential(mean: \"200ms\")`",
                    );
                }
            }
            TimeDist::LogNormal { median, p99 } => {
                if median.is_zero() {
                    self.report(
                        time.field("median"),
                        format!("step `{}` has a log-normal time with a median of 0s", step.name),
                        "must be longer than 0s",
                        "a log-normal time needs a positive median; use `Constant(\"0s\")` for an instant step",
                    );
                } else if p99 < median {
                    self.report(
                        time.field("p99"),
                        format!(
                            "step `{}` has a p99 ({p99}) below its median ({median})",
                            step.name
                        ),
                        "below the median",
                        "the 99th percentile is at least the median; are the two swapped?",
                    );
                }
            }
            TimeDist::Uniform { min, max } => {
                if max < min {
                    self.report(
                        time.field("max"),
                        format!(
                            "step `{}` has a uniform time with max ({max}) below min ({min})",
                            step.name
                        ),
                        "below `min`",
                        "`max` must be at least `min`; are the two swapped?",
                    );
                }
            }
        }
        if let OnTimeout::Degrade { wrong_answer_rate } = step.on_timeout {
            self.fraction(
                wrong_answer_rate,
                &path.field("on_timeout").field("wrong_answer_rate"),
                "`wrong_answer_rate`",
            );
        }
        self.fraction(step.error_rate, &path.field("error_rate"), "`error_rate`");
        self.fraction(
            step.wrong_answer_rate,
            &path.field("wrong_answer_rate"),
            "`wrong_answer_rate`",
        );
        self.non_negative(step.tokens, &path.field("tokens"), "`tokens`");
        if let Some(fallback) = &step.fallback {
            let f = path.field("fallback");
            self.fraction(
                fallback.wrong_answer_rate,
                &f.field("wrong_answer_rate"),
                "the fallback's `wrong_answer_rate`",
            );
            self.non_negative(
                fallback.tokens,
                &f.field("tokens"),
                "the fallback's `tokens`",
            );
        }
    }

    /// A count or amount: zero or more.
    fn non_negative(&mut self, value: f64, path: &FieldPath, what: &str) {
        if !(value.is_finite() && value >= 0.0) {
            self.report(
                path.clone(),
                format!("{what} is {value}, but it cannot be negative"),
                "must be 0 or more",
                "write zero or a positive number",
            );
        }
    }

    /// A probability: from 0 to 1.
    fn fraction(&mut self, value: f64, path: &FieldPath, what: &str) {
        if !(0.0..=1.0).contains(&value) {
            self.report(
                path.clone(),
                format!("{what} is {value}, but it is a probability"),
                "must be from 0 to 1",
                "write a fraction from 0 to 1, e.g. 0.05 for 5%",
            );
        }
    }

    fn fault(&mut self, fault: &Fault, path: &FieldPath) {
        self.name_not_empty(&fault.name, &path.field("name"), "fault");
        let end = self.drill.duration;
        if fault.at >= end {
            self.report(
                path.field("at"),
                format!(
                    "fault `{}` starts at {}, when the drill is already over (it lasts {end}), so it never happens",
                    fault.name, fault.at
                ),
                "after the end",
                format!("start it before {end}, or lengthen the drill's `duration`"),
            );
        }
        if fault.lasts == Some(Duration::ZERO) {
            self.report(
                path.field("lasts"),
                format!("fault `{}` lasts 0s, so it never takes effect", fault.name),
                "zero length",
                "give it a length, or leave `lasts` out to keep the fault until the end",
            );
        }
        self.effects(
            fault.effect.as_ref(),
            fault.effects.as_deref(),
            path,
            &format!("fault `{}`", fault.name),
            EffectUse::Fault,
        );
    }

    /// A step's pools, request share and call timeout.
    fn step_path(&mut self, step: &Step, path: &FieldPath) {
        if step.pool.is_some() && !step.pools.is_empty() {
            self.report(
                path.field("pools"),
                format!("step `{}` gives both `pool` and `pools`", step.name),
                "both given",
                "write one pool as `pool: \"db\"`, or several as `pools: [\"http\", \"db\"]` (then drop `pool`)",
            );
        }
        for (i, pool) in step.pools.iter().enumerate() {
            self.pool_ref(pool, path.field("pools").index(i));
            if step.pools[..i].contains(pool) {
                self.report(
                    path.field("pools").index(i),
                    format!("step `{}` holds pool `{pool}` twice", step.name),
                    "repeated pool",
                    "list each pool once; a step holds one connection of each",
                );
            }
        }
        if let Some(share) = step.share {
            self.share(
                share,
                &path.field("share"),
                &format!("step `{}`", step.name),
            );
        }
        if step.timeout == Some(Duration::ZERO) {
            self.report(
                path.field("timeout"),
                format!(
                    "step `{}` has a call timeout of 0s, so every call would time out",
                    step.name
                ),
                "must be longer than 0s",
                "give the longest a call may run, e.g. `timeout: \"2s\"`, or leave `timeout` out",
            );
        }
    }

    /// A share of requests or calls: more than 0, at most 1.
    fn share(&mut self, share: f64, path: &FieldPath, of: &str) {
        if !(share > 0.0 && share <= 1.0) {
            self.report(
                path.clone(),
                format!("{of} has share {share}, but a share must be more than 0 and at most 1"),
                "must be in (0, 1]",
                "write the fraction it applies to, e.g. `share: 0.3` for 30%; leave it out for all",
            );
        }
    }

    /// A fault's or action's `effect:` or `effects: [...]`: exactly one, and no empty list.
    fn effects(
        &mut self,
        effect: Option<&Effect>,
        effects: Option<&[Effect]>,
        path: &FieldPath,
        owner: &str,
        used: EffectUse<'_>,
    ) {
        match (effect, effects) {
            (Some(_), Some(_)) => self.report(
                path.field("effects"),
                format!("{owner} gives both `effect` and `effects`"),
                "both given",
                "write one effect as `effect: X(...)`, or several as `effects: [X(...), Y(...)]`, not both",
            ),
            (None, None) => self.report(
                path.clone(),
                format!("{owner} has no effect"),
                "needs `effect` or `effects`",
                "add `effect: X(...)`, or `effects: [X(...), Y(...)]` for several",
            ),
            (None, Some([])) => self.report(
                path.field("effects"),
                format!("{owner} has an empty `effects` list"),
                "empty list",
                "list at least one effect: `effects: [X(...), Y(...)]`",
            ),
            _ => {}
        }
        if let Some(effect) = effect {
            self.effect(effect, &path.field("effect"), used);
        }
        for (i, effect) in effects.unwrap_or_default().iter().enumerate() {
            self.effect(effect, &path.field("effects").index(i), used);
        }
    }

    /// A step effect's optional share of calls.
    fn effect_share(&mut self, share: Option<f64>, path: &FieldPath) {
        if let Some(share) = share {
            self.share(share, &path.field("share"), "the effect");
        }
    }

    /// Checks an effect: the names it refers to first, then its number (see [`effect_number`]).
    fn effect(&mut self, effect: &Effect, path: &FieldPath, used: EffectUse<'_>) {
        match effect {
            Effect::TrafficMultiplier(_)
            | Effect::AdmissionLimit { .. }
            | Effect::MaxInFlight { .. } => {}
            Effect::PoolSize { pool, .. }
            | Effect::ConnectionLeak { pool, .. }
            | Effect::RestartPool { pool, .. } => {
                self.pool_ref(pool, path.field("pool"));
            }
            Effect::StepTimeMultiplier { step, share, .. }
            | Effect::StepErrorRate { step, share, .. }
            | Effect::WrongAnswerRate { step, share, .. }
            | Effect::TokenMultiplier { step, share, .. } => {
                self.step_ref(step, path.field("step"));
                self.effect_share(*share, path);
            }
            Effect::UseFallback { step, share } => {
                self.step_ref(step, path.field("step"));
                self.effect_share(*share, path);
                let has_fallback = self
                    .drill
                    .service
                    .steps
                    .iter()
                    .any(|s| &s.name == step && s.fallback.is_some());
                if self.steps.contains(step) && !has_fallback {
                    self.report(
                        path.field("step"),
                        format!("step `{step}` has no fallback to switch to"),
                        "no fallback",
                        "give the step a `fallback: Fallback(time: ..., wrong_answer_rate: ...)`",
                    );
                }
            }
            Effect::StepShare { step, .. } => self.step_ref(step, path.field("step")),
            Effect::StepTimeout { step, timeout } => {
                self.step_ref(step, path.field("step"));
                if timeout.is_zero() {
                    self.report(
                        path.field("timeout"),
                        format!(
                            "a call timeout of 0s on step `{step}` would end every call at once"
                        ),
                        "must be longer than 0s",
                        "give the longest a call may run, e.g. `timeout: \"2s\"`",
                    );
                }
            }
            Effect::EndFault(fault) => self.reference(fault, path.item(0), Namespace::Fault),
            Effect::EndAction(action) => {
                self.reference(action, path.item(0), Namespace::Action);
                let lasting = |e: &&Effect| {
                    !matches!(
                        e,
                        Effect::EndFault(_) | Effect::EndAction(_) | Effect::RestartPool { .. }
                    )
                };
                if let Some(ended) = self.drill.actions.iter().find(|a| &a.name == action)
                    && !ended.all_effects().iter().any(lasting)
                {
                    self.report(
                        path.item(0),
                        format!("action `{action}` has no lasting effect to end"),
                        "nothing to end",
                        "`EndAction` ends an action that sets something (a throttle, a fallback); end faults with `EndFault`",
                    );
                }
            }
        }
        if let Some((value, at, range, what)) = effect_number(effect, path) {
            self.number(value, &at, used, range, what);
        }
    }

    /// A number in an effect: a literal in range, or (in an action) one of its params.
    fn number(
        &mut self,
        value: &Value,
        path: &FieldPath,
        used: EffectUse<'_>,
        range: Range,
        what: &str,
    ) {
        let x = match (value, used) {
            (Value::Literal(x), _) => *x,
            (Value::Param(name), EffectUse::Fault) => {
                self.report(
                    path.clone(),
                    format!("a fault needs a literal number for {what}, not `Param(\"{name}\")`"),
                    "not a number",
                    "only actions take params from the team's command; write a number here",
                );
                return;
            }
            (Value::Param(name), EffectUse::Action(action)) => {
                if action.param(name).is_none() {
                    let params: Vec<&str> = action.param_names();
                    let hint = match suggest::closest(name, params.iter().copied()) {
                        Some(best) => format!("did you mean `{best}`?"),
                        None if params.is_empty() => {
                            format!("declare it: `params: [\"{name}\"]`")
                        }
                        None => format!(
                            "the action's params are {}; add \"{name}\" to `params` to take it from the command",
                            suggest::list(&params)
                        ),
                    };
                    self.report(
                        path.item(0),
                        format!(
                            "`Param(\"{name}\")` is not a param of action `{}`",
                            action.name
                        ),
                        "unknown param",
                        hint,
                    );
                }
                return;
            }
        };
        let (ok, rule, hint) = match range {
            Range::Positive => (
                x > 0.0,
                "greater than 0",
                "write a positive number, e.g. 1.5",
            ),
            Range::Count => (
                x >= 1.0 && x.fract() == 0.0,
                "a whole number of at least 1",
                "write a whole number, e.g. 20",
            ),
            Range::Fraction => (
                (0.0..=1.0).contains(&x),
                "from 0 to 1",
                "write a fraction from 0 to 1, e.g. 0.05 for 5%",
            ),
        };
        if !ok || !x.is_finite() {
            self.report(
                path.clone(),
                format!("{what} is {x}, but it must be {rule}"),
                format!("must be {rule}"),
                hint,
            );
        }
    }

    fn alert(&mut self, alert: &Alert, path: &FieldPath) {
        self.name_not_empty(&alert.name, &path.field("name"), "alert");
        let (Condition::Above { metric, threshold } | Condition::Below { metric, threshold }) =
            &alert.when;
        let variant_path = path.field("when");
        if let Some(pool) = metric.pool() {
            self.pool_ref(pool, variant_path.field("metric").item(0));
        }
        if let Some(step) = metric.step() {
            self.step_ref(step, variant_path.field("metric").item(0));
        }
        let ratio = matches!(
            metric,
            Metric::ErrorRatio
                | Metric::DegradedRatio
                | Metric::WrongAnswerRatio
                | Metric::PoolUtilization(_)
                | Metric::StepErrorRatio(_)
        );
        let threshold_path = variant_path.field("threshold");
        if !threshold.is_finite() || *threshold < 0.0 {
            self.report(
                threshold_path,
                format!(
                    "alert `{}` has threshold {threshold}, but metrics are never negative",
                    alert.name
                ),
                "must be 0 or more",
                "write the level at which the alert should fire",
            );
        } else if matches!(alert.when, Condition::Below { .. }) && *threshold <= 0.0 {
            self.report(
                threshold_path,
                format!(
                    "alert `{}` never fires: no metric goes below {threshold}",
                    alert.name
                ),
                "never fires",
                "`Below` fires when the metric is strictly below the threshold: use a positive one",
            );
        } else if ratio && *threshold > 1.0 {
            self.report(
                threshold_path,
                format!(
                    "alert `{}` has threshold {threshold}, but {} is a ratio from 0 to 1",
                    alert.name,
                    metric_name(metric)
                ),
                "must be from 0 to 1",
                "write a fraction: 0.05 for 5%",
            );
        }
    }

    fn action(&mut self, action: &'a Action, path: &FieldPath) {
        let name_path = path.field("name");
        if action.name.trim().is_empty() || action.name.contains(char::is_whitespace) {
            self.report(
                name_path,
                format!("the action name `{}` is not a single word", action.name),
                "not one word",
                "the team types the action's name as a command: use one word, e.g. `scale-pool`",
            );
        } else if let Some(built_in) = BUILT_IN_COMMANDS
            .iter()
            .chain(SESSION_COMMANDS)
            .find(|c| c.eq_ignore_ascii_case(&action.name))
        {
            self.report(
                name_path,
                format!(
                    "action `{}` has the name of the built-in command `{built_in}`, so the team can never run it",
                    action.name
                ),
                "built-in command",
                "rename the action: built-in commands come first when the team types a line",
            );
        }
        self.unique(
            action.params.iter().map(ActionParam::name),
            &path.field("params"),
            "",
            "param",
        );
        for (i, param) in action.params.iter().enumerate() {
            if let ActionParam::Bounded(p) = param {
                let p_path = path.field("params").index(i);
                let bad = |x: Option<f64>| x.is_some_and(|x| !x.is_finite());
                if bad(p.min) || bad(p.max) {
                    self.report(
                        p_path,
                        format!(
                            "param `{}` of action `{}` has a bound that is not a number",
                            p.name, action.name
                        ),
                        "not a number",
                        "write finite bounds, e.g. `Param(name: \"size\", min: 1, max: 60)`",
                    );
                } else if let (Some(lo), Some(hi)) = (p.min, p.max)
                    && lo > hi
                {
                    self.report(
                        p_path.field("max"),
                        format!("param `{}` of action `{}` has min {lo} above max {hi}, so no value is allowed", p.name, action.name),
                        "min above max",
                        "swap them: `min` is the smallest value the team may give",
                    );
                }
            }
        }
        self.effects(
            action.effect.as_ref(),
            action.effects.as_deref(),
            path,
            &format!("action `{}`", action.name),
            EffectUse::Action(action),
        );
    }

    fn roles(&mut self) {
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

    fn done(&mut self, done: &Done, path: &FieldPath) {
        match done {
            Done::Command(name) => {
                self.command_ref(name, path.item(0));
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

    fn anchor(&mut self, anchor: &Anchor, path: &FieldPath, used: AnchorUse) {
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

    fn event(&mut self, event: &Event, path: &FieldPath) {
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

    fn say(&mut self, say: &Say, path: &FieldPath) {
        self.anchor(&say.at, &path.field("at"), AnchorUse::Reference);
        self.reference(&say.role, path.field("role"), Namespace::Role);
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
    fn action_input<'w>(
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

    /// A reference to a team command: built in, or a drill action. Reports it if unknown.
    fn command_ref(&mut self, name: &str, path: FieldPath) -> bool {
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

    fn pool_ref(&mut self, name: &str, path: FieldPath) {
        self.reference(name, path, Namespace::Pool);
    }

    fn step_ref(&mut self, name: &str, path: FieldPath) {
        self.reference(name, path, Namespace::Step);
    }

    /// A reference to a pool, step, fault, alert or role by name. Reports it if undefined.
    fn reference(&mut self, name: &str, path: FieldPath, namespace: Namespace) {
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

    fn name_not_empty(&mut self, name: &str, path: &FieldPath, what: &str) {
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
    fn unique<'n>(
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

/// What the team observes: the drill's dashboard panels and log messages.
impl Checker<'_> {
    fn observation(&mut self) {
        let drill = self.drill;
        for (i, panel) in drill.dashboard.iter().enumerate() {
            let path = FieldPath::root("dashboard").index(i);
            if panel.title.trim().is_empty() {
                self.report(
                    path.field("title"),
                    "a dashboard panel has an empty title",
                    "empty title",
                    "title the panel as the team's own dashboard does, e.g. `title: \"Vendor calls\"`",
                );
            }
            if let Some(pool) = panel.metric.pool() {
                self.pool_ref(pool, path.field("metric").item(0));
            }
            if let Some(step) = panel.metric.step() {
                self.step_ref(step, path.field("metric").item(0));
            }
            if panel.metric.is_ground_truth() {
                self.report(
                    path.field("metric"),
                    format!(
                        "panel `{}` shows {}, which is ground truth: a real team cannot see wrong answers as they happen",
                        panel.title,
                        metric_name(&panel.metric)
                    ),
                    "not observable",
                    "show `EvalWrongAnswerRatio`, the evaluation pipeline's late and sampled ratio",
                );
            }
            if let Some(max) = panel.max
                && !(max.is_finite() && max > 0.0)
            {
                self.report(
                    path.field("max"),
                    format!("panel `{}` has full scale {max}", panel.title),
                    "must be more than 0",
                    "give the value a full-height bar stands for, in the metric's unit (ratios as fractions: 1.0 for 100%), or leave `max` out",
                );
            }
        }
        for (i, step) in drill.service.steps.iter().enumerate() {
            self.log_message(
                step.log.as_deref(),
                &FieldPath::root("service")
                    .field("steps")
                    .index(i)
                    .field("log"),
                &format!("step `{}`", step.name),
            );
        }
        for (i, fault) in drill.faults.iter().enumerate() {
            let path = FieldPath::root("faults").index(i).field("log");
            self.log_message(
                fault.log.as_deref(),
                &path,
                &format!("fault `{}`", fault.name),
            );
            let first_reason = fault.all_effects().into_iter().map(LogTarget::of).try_fold(
                None,
                |reason, target| match target {
                    Ok(_) => Err(()),
                    Err(r) => Ok(reason.or(Some(r))),
                },
            );
            if fault.log.is_some()
                && let Ok(Some(reason)) = first_reason
            {
                self.report(
                    path,
                    format!("fault `{}` has a log message, but a fault that {reason}", fault.name),
                    "no line to write it on",
                    "leave `log` out; give it to a fault on a step or a pool, or tell the team with an inject",
                );
            }
        }
    }

    fn log_message(&mut self, message: Option<&str>, path: &FieldPath, whose: &str) {
        if message.is_some_and(|m| m.trim().is_empty()) {
            self.report(
                path.clone(),
                format!("{whose} has an empty log message"),
                "empty message",
                "write what the service prints, e.g. `log: \"vendor lookup_invoice timed out\"`, or leave `log` out",
            );
        }
    }
}

/// Things a valid drill may do but probably should not: each with its path, a message and a
/// hint, as a problem has. `check` prints them as warnings; they do not make a drill invalid.
#[must_use]
pub fn warnings(drill: &Drill) -> Vec<SemanticProblem> {
    let mut out = Vec::new();
    for (i, alert) in drill.alerts.iter().enumerate() {
        let metric = alert.when.metric();
        if metric.is_ground_truth() {
            out.push(
                SemanticProblem::new(
                    FieldPath::root("alerts").index(i).field("when").field("metric"),
                    format!(
                        "alert `{}` watches {}, which no real system measures: it pages on ground truth",
                        alert.name,
                        metric_name(metric)
                    ),
                    "ground truth",
                )
                .hint("watch `EvalWrongAnswerRatio` (the evaluation pipeline's late, sampled ratio) or a symptom the service measures; the alert is left out of exported Prometheus rules"),
            );
        }
    }
    out
}

/// What one run of a drill may cost. `check` refuses a drill beyond any of them, so that a drill
/// that passes `check` runs to its end in bounded time and memory (docs/drill-format.md,
/// "Limits").
pub mod limits {
    /// Arrival rates (`start_rps`, `to_rps`, `AdmissionLimit`), requests per second.
    pub const MAX_RPS: f64 = 1e6;
    /// Traffic, step time and token multipliers.
    pub const MAX_MULTIPLIER: f64 = 1000.0;
    /// Connections in a pool, database cores, and pool sizes set by effects.
    pub const MAX_POOL_SIZE: f64 = 100_000.0;
    /// In-flight limits (`max_in_flight`, `MaxInFlight`).
    pub const MAX_IN_FLIGHT: f64 = 1e9;
    /// Attempts per request with retries.
    pub const MAX_ATTEMPTS: i64 = 100;
    /// Model tokens per call of a step or its fallback.
    pub const MAX_TOKENS: f64 = 1e7;
    /// Dollars per thousand model tokens.
    pub const MAX_COST_PER_1K_TOKENS: f64 = 1000.0;
    /// A drill's simulated length: 366 days.
    pub const MAX_DURATION_SECS: u64 = 366 * 24 * 3600;
    /// Metric buckets in one run (`duration` / `telemetry.bucket`).
    pub const MAX_BUCKETS: f64 = 1e6;
    /// Events the engine may handle in one run, estimated as the peak arrival rate (with every
    /// traffic multiplier of faults and actions) × duration × (1 + steps) × attempts: about a
    /// quarter of an hour of engine time.
    pub const MAX_EVENTS: f64 = 1e10;
}

impl Checker<'_> {
    /// The limits in [`limits`]: each value in its range, then what the whole run would cost.
    fn budget(&mut self) {
        use limits::{
            MAX_ATTEMPTS, MAX_BUCKETS, MAX_COST_PER_1K_TOKENS, MAX_DURATION_SECS, MAX_EVENTS,
            MAX_IN_FLIGHT, MAX_MULTIPLIER, MAX_POOL_SIZE, MAX_RPS, MAX_TOKENS,
        };
        let drill = self.drill;
        let traffic = FieldPath::root("traffic");
        let mut rates = vec![(drill.traffic.start_rps, traffic.field("start_rps"))];
        for (i, stage) in drill.traffic.stages.iter().enumerate() {
            rates.push((
                stage.to_rps,
                traffic.field("stages").index(i).field("to_rps"),
            ));
        }
        for (rps, path) in &rates {
            self.at_most(
                *rps,
                MAX_RPS,
                path,
                "a rate of requests",
                "requests per second",
            );
        }
        for (i, pool) in drill.pools.iter().enumerate() {
            let path = FieldPath::root("pools").index(i);
            self.at_most(
                pool.size as f64,
                MAX_POOL_SIZE,
                &path.field("size"),
                "a pool's size",
                "connections",
            );
            if let Some(cores) = pool.cores {
                self.at_most(
                    cores as f64,
                    MAX_POOL_SIZE,
                    &path.field("cores"),
                    "a database's cores",
                    "cores",
                );
            }
        }
        let service = FieldPath::root("service");
        if let Some(limit) = drill.service.max_in_flight {
            self.at_most(
                limit as f64,
                MAX_IN_FLIGHT,
                &service.field("max_in_flight"),
                "an in-flight limit",
                "requests",
            );
        }
        let mut attempts = 1.0;
        if let Some(retries) = &drill.service.retries {
            if retries.max_attempts > MAX_ATTEMPTS {
                self.report(
                    service.field("retries").field("max_attempts"),
                    format!(
                        "`max_attempts` is {}; the most is {MAX_ATTEMPTS}",
                        retries.max_attempts
                    ),
                    "too large",
                    "real clients retry a few times: write e.g. `max_attempts: 3`",
                );
            }
            attempts = retries.max_attempts.clamp(1, MAX_ATTEMPTS) as f64;
        }
        self.at_most(
            drill.service.cost_per_1k_tokens,
            MAX_COST_PER_1K_TOKENS,
            &service.field("cost_per_1k_tokens"),
            "a price",
            "dollars per thousand tokens",
        );
        for (i, step) in drill.service.steps.iter().enumerate() {
            let path = service.field("steps").index(i);
            self.at_most(
                step.tokens,
                MAX_TOKENS,
                &path.field("tokens"),
                "a step's tokens",
                "tokens per call",
            );
            if let Some(fallback) = &step.fallback {
                self.at_most(
                    fallback.tokens,
                    MAX_TOKENS,
                    &path.field("fallback").field("tokens"),
                    "a fallback's tokens",
                    "tokens per call",
                );
            }
        }
        // Literal numbers in effects; the product of the traffic multipliers above 1 bounds
        // the peak rate (faults may overlap, and the team may take every action).
        let mut surge = 1.0_f64;
        let effects =
            drill
                .faults
                .iter()
                .enumerate()
                .flat_map(|(i, f)| with_paths("faults", i, f.effect.as_ref(), f.effects.as_ref()))
                .chain(drill.actions.iter().enumerate().flat_map(|(i, a)| {
                    with_paths("actions", i, a.effect.as_ref(), a.effects.as_ref())
                }))
                .collect::<Vec<_>>();
        for (effect, path) in effects {
            let (value, at, max, what, unit) = match effect {
                Effect::TrafficMultiplier(m) => (
                    m,
                    path.item(0),
                    MAX_MULTIPLIER,
                    "a traffic multiplier",
                    "times",
                ),
                Effect::StepTimeMultiplier { factor, .. }
                | Effect::TokenMultiplier { factor, .. } => (
                    factor,
                    path.field("factor"),
                    MAX_MULTIPLIER,
                    "a multiplier",
                    "times",
                ),
                Effect::AdmissionLimit { rps } => (
                    rps,
                    path.field("rps"),
                    MAX_RPS,
                    "an admission limit",
                    "requests per second",
                ),
                Effect::MaxInFlight { limit } => (
                    limit,
                    path.field("limit"),
                    MAX_IN_FLIGHT,
                    "an in-flight limit",
                    "requests",
                ),
                Effect::PoolSize { size, .. } => (
                    size,
                    path.field("size"),
                    MAX_POOL_SIZE,
                    "a pool size",
                    "connections",
                ),
                _ => continue,
            };
            let Value::Literal(x) = *value else {
                continue;
            };
            self.at_most(x, max, &at, what, unit);
            if matches!(effect, Effect::TrafficMultiplier(_)) && x > 1.0 && x.is_finite() {
                surge *= x.min(MAX_MULTIPLIER);
            }
        }
        let duration = FieldPath::root("duration");
        if drill.duration > Duration::from_secs(MAX_DURATION_SECS) {
            self.report(
                duration.clone(),
                format!("the drill lasts {}; the most is 366 days", drill.duration),
                "too long",
                "a drill simulates hours or days: shorten `duration`, e.g. \"30d\"",
            );
            return;
        }
        let seconds = drill.duration.as_secs_f64();
        let bucket = drill.telemetry.bucket;
        if !bucket.is_zero() {
            let buckets = seconds / bucket.as_secs_f64();
            if buckets > MAX_BUCKETS {
                self.report(
                    FieldPath::root("telemetry").field("bucket"),
                    format!(
                        "{} buckets of {bucket} over {} would be {}; the most is {}",
                        "metric",
                        drill.duration,
                        round(buckets),
                        round(MAX_BUCKETS)
                    ),
                    "too many buckets",
                    format!(
                        "make `bucket` at least {} (the default is \"10s\"), or shorten `duration`",
                        Duration::from_secs_f64((seconds / MAX_BUCKETS).ceil())
                    ),
                );
            }
        }
        let Some((peak, peak_path)) = rates
            .iter()
            .filter(|(r, _)| r.is_finite() && *r >= 0.0)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(r, p)| (*r, p.clone()))
        else {
            return;
        };
        if peak > MAX_RPS {
            return;
        }
        let steps = drill.service.steps.len() as f64;
        let events = peak * surge * seconds * (1.0 + steps) * attempts;
        if events > MAX_EVENTS {
            self.report(
                peak_path,
                format!(
                    "a run would handle about {} events: a peak of {} requests/s{} over {} \
                     ({} s), each of 1 arrival + {} steps{}; the most is {} events",
                    round(events),
                    round(peak),
                    if surge > 1.0 { format!(" × {} from traffic multipliers", round(surge)) } else { String::new() },
                    drill.duration,
                    round(seconds),
                    steps,
                    if attempts > 1.0 { format!(" × {attempts} attempts") } else { String::new() },
                    round(MAX_EVENTS)
                ),
                "too many events",
                format!(
                "lower this rate (or the traffic multipliers), or shorten `duration`: at this peak the drill may last about {}",
                Duration::from_secs_f64((MAX_EVENTS / (peak * surge * (1.0 + steps) * attempts)).floor())
            ),
            );
        }
    }

    /// A number that must not exceed `max` (NaN and negatives are reported elsewhere).
    fn at_most(&mut self, value: f64, max: f64, path: &FieldPath, what: &str, unit: &str) {
        if value > max {
            self.report(
                path.clone(),
                format!(
                    "{what} of {} {unit} is beyond the most a drill may use, {} {unit}",
                    round(value),
                    round(max)
                ),
                format!("at most {}", round(max)),
                format!(
                    "write at most {} (docs/drill-format.md, \"Limits\")",
                    round(max)
                ),
            );
        }
    }
}

/// Each effect of a fault or action with its path (`faults[2].effect`, `faults[2].effects[1]`).
fn with_paths<'e>(
    root: &'static str,
    i: usize,
    effect: Option<&'e Effect>,
    effects: Option<&'e Vec<Effect>>,
) -> Vec<(&'e Effect, FieldPath)> {
    let at = FieldPath::root(root).index(i);
    effect
        .map(|e| (e, at.field("effect")))
        .into_iter()
        .chain(
            effects
                .into_iter()
                .flatten()
                .enumerate()
                .map(move |(j, e)| (e, at.field("effects").index(j))),
        )
        .collect::<Vec<_>>()
}

/// The number an effect takes, where it is written, what it must be and what to call it: `None`
/// for an effect without one.
fn effect_number<'e>(
    effect: &'e Effect,
    path: &FieldPath,
) -> Option<(&'e Value, FieldPath, Range, &'static str)> {
    Some(match effect {
        Effect::TrafficMultiplier(factor) => (
            factor,
            path.item(0),
            Range::Positive,
            "the traffic multiplier",
        ),
        Effect::AdmissionLimit { rps } => (
            rps,
            path.field("rps"),
            Range::Positive,
            "the admission limit",
        ),
        Effect::MaxInFlight { limit } => (
            limit,
            path.field("limit"),
            Range::Count,
            "the in-flight limit",
        ),
        Effect::PoolSize { size, .. } => (size, path.field("size"), Range::Count, "the pool size"),
        Effect::StepTimeMultiplier { factor, .. } => (
            factor,
            path.field("factor"),
            Range::Positive,
            "the step time multiplier",
        ),
        Effect::StepErrorRate { rate, .. } => {
            (rate, path.field("rate"), Range::Fraction, "the error rate")
        }
        Effect::ConnectionLeak { fraction, .. } => (
            fraction,
            path.field("fraction"),
            Range::Fraction,
            "the leak fraction",
        ),
        Effect::WrongAnswerRate { rate, .. } => (
            rate,
            path.field("rate"),
            Range::Fraction,
            "the wrong-answer rate",
        ),
        Effect::TokenMultiplier { factor, .. } => (
            factor,
            path.field("factor"),
            Range::Positive,
            "the token multiplier",
        ),
        Effect::StepShare { share, .. } => (
            share,
            path.field("share"),
            Range::Fraction,
            "the step's share of requests",
        ),
        Effect::UseFallback { .. }
        | Effect::StepTimeout { .. }
        | Effect::EndFault(_)
        | Effect::EndAction(_)
        | Effect::RestartPool { .. } => return None,
    })
}

/// A number for a message: whole numbers in full up to a billion, larger ones as `3.1e12`.
fn round(x: f64) -> String {
    if x.is_finite() && x.abs() < 1e9 && x.fract() == 0.0 {
        format!("{x:.0}")
    } else if x.is_finite() && x.abs() < 1e9 {
        format!("{}", (x * 100.0).round() / 100.0)
    } else {
        format!("{x:.1e}")
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

/// A metric as written in RON (`PoolUtilization("db")`), which is also its `Debug` form.
fn metric_name(metric: &Metric) -> String {
    format!("`{metric:?}`")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_display_as_written() {
        let path = FieldPath::root("service")
            .field("steps")
            .index(1)
            .field("time")
            .field("p99");
        assert_eq!(path.to_string(), "service.steps[1].time.p99");
        let path = FieldPath::root("alerts")
            .index(0)
            .field("when")
            .field("metric")
            .item(0);
        assert_eq!(path.to_string(), "alerts[0].when.metric.0");
        assert!(path.starts_with(&FieldPath::root("alerts").index(0)));
        assert!(!path.starts_with(&FieldPath::root("alerts").index(1)));
    }

    #[test]
    fn the_shipped_drill_is_valid() {
        let text = include_str!("../../drills/monday-rush.ron");
        let drill = crate::drill::parse_str(text).unwrap();
        assert_eq!(validate(&drill), []);
    }
}

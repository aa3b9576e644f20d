//! The team's command language: `[ROLE:] COMMAND [ARGS]`, parsed into a [`Command`].
//!
//! Parsing knows the drill (its roles, actions and alerts) so that a mistyped command is
//! refused with a suggestion before anything changes. Executing commands is the session's
//! job ([`super::Session::execute`]).

use std::fmt;

use crate::drill::spec::{ActionParam, Drill};
use crate::drill::suggest::closest;
use crate::drill::{Duration, duration::DurationError};
use crate::telemetry::log::Level;

/// Team commands built into every drill, with their one-line help.
pub const BUILTINS: &[(&str, &str, &str)] = &[
    (
        "wait",
        "wait DURATION | wait until page",
        "let simulated time pass (turns clock)",
    ),
    ("pause", "pause", "stop the realtime clock"),
    ("resume", "resume", "restart the realtime clock"),
    (
        "speed",
        "speed X",
        "run the realtime clock at X × wall time",
    ),
    (
        "dash",
        "dash",
        "the dashboard: traffic, errors, latency, pools, with sparklines",
    ),
    ("alerts", "alerts", "every alert rule and its state"),
    (
        "logs",
        "logs [level=L] [last=DURATION] [grep=TEXT]",
        "the request log",
    ),
    (
        "metric",
        "metric NAME [last=DURATION]",
        "one metric over time",
    ),
    (
        "checklist",
        "checklist",
        "each role's checklist and what is done",
    ),
    ("roles", "roles", "the roles and who holds them"),
    ("help", "help [COMMAND]", "this help"),
    (
        "ack",
        "ack [ALERT]",
        "acknowledge an alert (no name: every firing alert)",
    ),
    (
        "declare",
        "declare SEVERITY",
        "declare an incident: sev1 (worst) to sev5",
    ),
    ("assign", "assign ROLE NAME", "hand a role to a person"),
    (
        "update",
        "update TEXT",
        "post a status update to stakeholders",
    ),
    ("note", "note TEXT", "add a note to the incident timeline"),
    ("diagnose", "diagnose CAUSE", "name the root cause"),
    ("resolve", "resolve", "resolve the incident"),
    ("end", "end", "finish the drill now"),
];

/// Team commands that count for checklists and anchors (`Command("declare")`).
pub const TEAM_COMMANDS: &[&str] = &[
    "ack", "declare", "assign", "update", "note", "diagnose", "resolve",
];

/// A parsed command.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Wait(Duration),
    WaitUntilPage,
    Pause,
    Resume,
    Speed(f64),
    Dash,
    Alerts,
    Logs {
        level: Option<Level>,
        last: Option<Duration>,
        grep: Option<String>,
    },
    Metric {
        name: String,
        last: Option<Duration>,
    },
    Checklist,
    Roles,
    Help(Option<String>),
    Ack(Option<String>),
    Declare(u8),
    Assign {
        role: String,
        person: String,
    },
    Update(String),
    Note(String),
    Diagnose(String),
    Resolve,
    Action {
        name: String,
        params: Vec<(String, f64)>,
    },
    End,
}

impl Command {
    /// The command's name as anchors and checklists refer to it (`declare`, `throttle`).
    #[must_use]
    pub fn name(&self) -> &str {
        match self {
            Command::Wait(_) | Command::WaitUntilPage => "wait",
            Command::Pause => "pause",
            Command::Resume => "resume",
            Command::Speed(_) => "speed",
            Command::Dash => "dash",
            Command::Alerts => "alerts",
            Command::Logs { .. } => "logs",
            Command::Metric { .. } => "metric",
            Command::Checklist => "checklist",
            Command::Roles => "roles",
            Command::Help(_) => "help",
            Command::Ack(_) => "ack",
            Command::Declare(_) => "declare",
            Command::Assign { .. } => "assign",
            Command::Update(_) => "update",
            Command::Note(_) => "note",
            Command::Diagnose(_) => "diagnose",
            Command::Resolve => "resolve",
            Command::Action { name, .. } => name,
            Command::End => "end",
        }
    }

    /// Whether the command only looks (and never changes the system or the team's record).
    #[must_use]
    pub fn is_look(&self) -> bool {
        matches!(
            self,
            Command::Dash
                | Command::Alerts
                | Command::Logs { .. }
                | Command::Metric { .. }
                | Command::Checklist
                | Command::Roles
                | Command::Help(_)
        )
    }
}

/// A line the team typed, split into its role and command.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// The role named with `role:`, if any.
    pub role: Option<String>,
    pub command: Command,
}

/// Why a line was refused. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandError {
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

impl std::error::Error for CommandError {}

fn error(message: impl Into<String>) -> CommandError {
    CommandError {
        message: message.into(),
        hint: None,
    }
}

fn error_hint(message: impl Into<String>, hint: impl Into<String>) -> CommandError {
    CommandError {
        message: message.into(),
        hint: Some(hint.into()),
    }
}

/// Splits a line into words; double quotes group words, `\"` is a quote inside them.
///
/// # Errors
/// An unterminated quote.
pub fn split_words(line: &str) -> Result<Vec<String>, CommandError> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if quoted && chars.peek() == Some(&'"') => {
                current.push('"');
                chars.next();
            }
            '"' => {
                quoted = !quoted;
                in_word = true;
            }
            c if c.is_whitespace() && !quoted => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            c => {
                current.push(c);
                in_word = true;
            }
        }
    }
    if quoted {
        return Err(error_hint("unterminated quote", "close it with \""));
    }
    if in_word {
        words.push(current);
    }
    Ok(words)
}

/// The text after the command word, quotes removed when they wrap all of it.
fn rest_text(words: &[String]) -> String {
    words.join(" ")
}

fn parse_duration(text: &str) -> Result<Duration, CommandError> {
    Duration::parse(text).map_err(|e| error_hint(format!("`{text}`: {e}"), DurationError::hint()))
}

/// Every command name this drill understands: built-ins, then the drill's actions.
#[must_use]
pub fn command_names(drill: &Drill) -> Vec<String> {
    BUILTINS
        .iter()
        .map(|(n, _, _)| (*n).to_owned())
        .chain(drill.actions.iter().map(|a| a.name.clone()))
        .collect()
}

/// Parses one line against `drill`. An empty line parses to `None`.
///
/// # Errors
/// What is wrong, with a suggestion when one helps; nothing has changed.
pub fn parse(line: &str, drill: &Drill) -> Result<Option<Parsed>, CommandError> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let (role, body) = split_role(line, drill)?;
    let words = split_words(body)?;
    let Some((head, args)) = words.split_first() else {
        return Err(error_hint(
            "a role needs a command after it",
            "e.g. `ops: ack`",
        ));
    };
    let head_lower = head.to_lowercase();
    let command = parse_command(&head_lower, args, drill)?;
    Ok(Some(Parsed { role, command }))
}

/// Checks one line against `drill` as far as it can be before it runs: [`parse`], and the
/// metric a `metric` line names. What depends on the moment (`declare` twice, an action
/// already running) is the session's to refuse as it plays.
///
/// # Errors
/// As [`parse`], or the metric is unknown or ground truth.
pub fn check(line: &str, drill: &Drill) -> Result<(), CommandError> {
    if let Some(Parsed {
        command: Command::Metric { name, .. },
        ..
    }) = parse(line, drill)?
    {
        let pools: Vec<String> = drill.pools.iter().map(|p| p.name.clone()).collect();
        let steps: Vec<String> = drill.service.steps.iter().map(|s| s.name.clone()).collect();
        super::views::parse_metric(&name, &pools, &steps).map_err(|message| CommandError {
            message,
            hint: Some("`help metric` at the prompt lists the names".to_owned()),
        })?;
    }
    Ok(())
}

/// A first word with a colon names the role: `ops: ack`, `ops:ack`.
fn split_role<'a>(line: &'a str, drill: &Drill) -> Result<(Option<String>, &'a str), CommandError> {
    let first = line.split_whitespace().next().unwrap_or_default();
    let Some((prefix, _)) = first.split_once(':') else {
        return Ok((None, line));
    };
    if prefix.is_empty() || prefix.contains(['"', '=']) {
        return Ok((None, line));
    }
    let rest = &line[line.find(':').map_or(0, |i| i + 1)..];
    if let Some(role) = drill
        .roles
        .iter()
        .find(|r| r.id.eq_ignore_ascii_case(prefix))
    {
        return Ok((Some(role.id.clone()), rest));
    }
    let ids: Vec<&str> = drill.roles.iter().map(|r| r.id.as_str()).collect();
    let hint = match closest(prefix, ids.iter().copied()) {
        Some(best) => format!("did you mean `{best}:`?"),
        None if ids.is_empty() => "this drill defines no roles".to_owned(),
        None => format!("roles are: {}", ids.join(", ")),
    };
    Err(error_hint(format!("no role `{prefix}`"), hint))
}

fn parse_command(head: &str, args: &[String], drill: &Drill) -> Result<Command, CommandError> {
    let no_args = |cmd: Command| {
        if args.is_empty() {
            Ok(cmd)
        } else {
            Err(error(format!("`{head}` takes no arguments")))
        }
    };
    let text = |what: &str| {
        let t = rest_text(args);
        if t.trim().is_empty() {
            Err(error_hint(
                format!("`{head}` needs {what}"),
                format!("e.g. {head} \"...\""),
            ))
        } else {
            Ok(t)
        }
    };
    match head {
        "wait" => match args {
            [d] => {
                let d = parse_duration(d)?;
                if d.is_zero() {
                    return Err(error("`wait` needs a duration above zero"));
                }
                Ok(Command::Wait(d))
            }
            [u, p] if u == "until" && p == "page" => Ok(Command::WaitUntilPage),
            _ => Err(error_hint(
                "usage: wait DURATION | wait until page",
                "e.g. wait 5m",
            )),
        },
        "pause" => no_args(Command::Pause),
        "resume" => no_args(Command::Resume),
        "speed" => match args {
            [x] => match x.trim_end_matches('x').parse::<f64>() {
                Ok(v) if (0.01..=1000.0).contains(&v) => Ok(Command::Speed(v)),
                _ => Err(error_hint(
                    format!("`{x}` is not a speed"),
                    "a number from 0.01 to 1000, e.g. speed 10",
                )),
            },
            _ => Err(error_hint("usage: speed X", "e.g. speed 10")),
        },
        "dash" | "dashboard" => no_args(Command::Dash),
        "alerts" => no_args(Command::Alerts),
        "logs" => parse_logs(args),
        "metric" => match args.split_first() {
            Some((name, rest)) => {
                let mut last = None;
                for a in rest {
                    match a.split_once('=') {
                        Some(("last", v)) => last = Some(parse_duration(v)?),
                        _ => {
                            return Err(error_hint(
                                format!("unknown argument `{a}`"),
                                "usage: metric NAME [last=DURATION]",
                            ));
                        }
                    }
                }
                Ok(Command::Metric {
                    name: name.clone(),
                    last,
                })
            }
            None => Err(error_hint(
                "usage: metric NAME [last=DURATION]",
                "`help metric` lists the names",
            )),
        },
        "checklist" => no_args(Command::Checklist),
        "roles" => no_args(Command::Roles),
        "help" | "?" => Ok(Command::Help(args.first().cloned())),
        "ack" => match args {
            [] => Ok(Command::Ack(None)),
            [name] => {
                let alert = drill
                    .alerts
                    .iter()
                    .find(|a| a.name.eq_ignore_ascii_case(name));
                if let Some(a) = alert {
                    Ok(Command::Ack(Some(a.name.clone())))
                } else {
                    let names: Vec<&str> = drill.alerts.iter().map(|a| a.name.as_str()).collect();
                    Err(unknown("alert", name, &names))
                }
            }
            _ => Err(error("usage: ack [ALERT]")),
        },
        "declare" => match args {
            [sev] => match crate::drill::severity(sev) {
                Some(n) => Ok(Command::Declare(n)),
                None => Err(error_hint(
                    format!("`{sev}` is not a severity"),
                    "sev1 (worst) to sev5, e.g. declare sev2",
                )),
            },
            _ => Err(error_hint("usage: declare SEVERITY", "e.g. declare sev2")),
        },
        "assign" => match args {
            [role, person @ ..] if !person.is_empty() => {
                let found = drill.roles.iter().find(|r| {
                    r.id.eq_ignore_ascii_case(role) || r.title.eq_ignore_ascii_case(role)
                });
                let role = match found {
                    Some(r) => r.id.clone(),
                    None if role.eq_ignore_ascii_case("comms")
                        || role.eq_ignore_ascii_case("ops") =>
                    {
                        role.to_lowercase()
                    }
                    None => {
                        let ids: Vec<&str> = drill.roles.iter().map(|r| r.id.as_str()).collect();
                        return Err(unknown("role", role, &ids));
                    }
                };
                Ok(Command::Assign {
                    role,
                    person: person.join(" "),
                })
            }
            _ => Err(error_hint(
                "usage: assign ROLE NAME",
                "e.g. assign comms sam",
            )),
        },
        "update" => Ok(Command::Update(text("the update's text")?)),
        "note" => Ok(Command::Note(text("the note's text")?)),
        "diagnose" => Ok(Command::Diagnose(text("a cause")?)),
        "resolve" => no_args(Command::Resolve),
        "end" => no_args(Command::End),
        other => parse_action(other, args, drill),
    }
}

fn parse_logs(args: &[String]) -> Result<Command, CommandError> {
    let (mut level, mut last, mut grep) = (None, None, None);
    for a in args {
        match a.split_once('=') {
            Some(("level", v)) => {
                level = Some(Level::parse(v).ok_or_else(|| {
                    error_hint(format!("unknown level `{v}`"), "info, warn or error")
                })?);
            }
            Some(("last", v)) => last = Some(parse_duration(v)?),
            Some(("grep", v)) => grep = Some(v.to_owned()),
            _ => {
                return Err(error_hint(
                    format!("unknown argument `{a}`"),
                    "usage: logs [level=L] [last=DURATION] [grep=TEXT]",
                ));
            }
        }
    }
    Ok(Command::Logs { level, last, grep })
}

fn parse_action(head: &str, args: &[String], drill: &Drill) -> Result<Command, CommandError> {
    let Some(action) = drill
        .actions
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case(head))
    else {
        let names = command_names(drill);
        let hint = match closest(head, names.iter().map(String::as_str)) {
            Some(best) => format!("did you mean `{best}`?"),
            None => "type `help` for the commands".to_owned(),
        };
        return Err(error_hint(format!("unknown command `{head}`"), hint));
    };
    let mut params = Vec::new();
    for a in args {
        let Some((key, value)) = a.split_once('=') else {
            return Err(error_hint(
                format!("`{a}` is not key=value"),
                action.help.clone(),
            ));
        };
        let Some(param) = action.param(key) else {
            if action.params.is_empty() {
                return Err(error_hint(
                    format!("`{}` takes no parameters", action.name),
                    format!("type just `{}`", action.name),
                ));
            }
            return Err(unknown("parameter", key, &action.param_names()));
        };
        let v: f64 = value
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| {
                error_hint(
                    format!("`{value}` is not a number"),
                    format!("e.g. {key}=40"),
                )
            })?;
        if let Err(why) = param.check(v) {
            let help = if action.help.is_empty() {
                format!("e.g. {} {key}=N", action.name)
            } else {
                action.help.clone()
            };
            return Err(error_hint(why, help));
        }
        if params.iter().any(|(k, _)| k == key) {
            return Err(error(format!("`{key}` is given twice")));
        }
        params.push((key.to_owned(), v));
    }
    if let Some(missing) = action
        .params
        .iter()
        .map(ActionParam::name)
        .find(|p| !params.iter().any(|(k, _)| k == *p))
    {
        let usage = if action.help.is_empty() {
            format!("{} {missing}=N", action.name)
        } else {
            action.help.clone()
        };
        return Err(error_hint(
            format!("`{}` needs {missing}=N", action.name),
            usage,
        ));
    }
    Ok(Command::Action {
        name: action.name.clone(),
        params,
    })
}

fn unknown(what: &str, name: &str, known: &[&str]) -> CommandError {
    let hint = match closest(name, known.iter().copied()) {
        Some(best) => format!("did you mean `{best}`?"),
        None if known.is_empty() => format!("this drill defines no {what}s"),
        None => format!("{what}s are: {}", known.join(", ")),
    };
    error_hint(format!("no {what} `{name}`"), hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drill() -> Drill {
        crate::drill::parse_str(include_str!("../../drills/monday-rush.ron")).unwrap()
    }

    fn ok(line: &str) -> Parsed {
        parse(line, &drill()).unwrap().unwrap()
    }

    fn err(line: &str) -> String {
        parse(line, &drill()).unwrap_err().to_string()
    }

    #[test]
    fn parses_commands_with_roles_and_quotes() {
        let p = ok("scribe: note \"Paged on latency; pool db at 20/20\"");
        assert_eq!(p.role.as_deref(), Some("scribe"));
        assert_eq!(
            p.command,
            Command::Note("Paged on latency; pool db at 20/20".into())
        );
        assert_eq!(ok("ops:ack").command, Command::Ack(None));
        assert_eq!(ok("IC: declare SEV2").command, Command::Declare(2));
        assert_eq!(
            ok("throttle rps=150").command,
            Command::Action {
                name: "throttle".into(),
                params: vec![("rps".into(), 150.0)]
            }
        );
        assert_eq!(ok("wait until page").command, Command::WaitUntilPage);
        assert_eq!(
            ok("wait 1m30s").command,
            Command::Wait(Duration::from_secs(90))
        );
        assert_eq!(
            ok("logs grep=a:b level=warn").command,
            Command::Logs {
                level: Some(Level::Warn),
                last: None,
                grep: Some("a:b".into())
            }
        );
        assert_eq!(
            ok("assign comms sam").command,
            Command::Assign {
                role: "comms".into(),
                person: "sam".into()
            }
        );
        assert!(parse("   ", &drill()).unwrap().is_none());
    }

    #[test]
    fn refuses_with_suggestions() {
        assert_eq!(
            err("trottle rps=150"),
            "unknown command `trottle` (did you mean `throttle`?)"
        );
        assert_eq!(
            err("throttle"),
            "`throttle` needs rps=N (Rate-limit new conversations at the gateway: throttle rps=N)"
        );
        assert_eq!(
            err("throttle rsp=5"),
            "no parameter `rsp` (did you mean `rps`?)"
        );
        assert_eq!(
            err("throttle rps=lots"),
            "`lots` is not a number (e.g. rps=40)"
        );
        assert_eq!(err("opps: ack"), "no role `opps` (did you mean `ops:`?)");
        assert_eq!(
            err("ack DbAcquireTimeout"),
            "no alert `DbAcquireTimeout` (did you mean `DbAcquireTimeouts`?)"
        );
        assert!(
            err("wait 5 minutes").starts_with("usage: wait"),
            "{}",
            err("wait 5 minutes")
        );
        assert!(err("wait 5").contains("no unit"), "{}", err("wait 5"));
        assert!(err("declare high").contains("sev1"));
        assert!(err("note").contains("needs"));
        assert!(err("note \"open").contains("unterminated"));
    }
}

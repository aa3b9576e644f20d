//! A live drill: the simulation, the team's commands, injects and the clock between them.
//!
//! [`Session`] is the game without any I/O: it takes a typed line at the current simulated
//! time, answers it, and moves time when asked. The terminal front-end ([`terminal`]), the
//! scripted team ([`play`]) and replay all drive the same `Session`, so a transcript replays
//! exactly. Clocks (turns or realtime) live in the front-end: a session only ever hears
//! "advance to t" and "execute this line now".

pub mod anchor;
pub mod checklist;
pub mod command;
pub mod play;
pub mod summary;
pub mod team;
pub mod transcript;
pub mod views;

use std::fmt::Write as _;

use serde::Serialize;

use self::checklist::Status;
use self::command::{BUILTINS, Command, CommandError, Parsed};
use self::team::{Detail, Entry, Team};
use self::views::{LogFilter, ViewContext};
use crate::drill::spec::{Drill, Severity};
use crate::drill::{ClockTime, Duration};
/// Simulated time, as the front-ends give it to [`Session::advance_to`] and read it back.
pub use crate::sim::SimTime;
use crate::sim::attribution::{self, Attribution};
use crate::sim::world::AlertPhase;
/// What the engine reports as it happens, passed on to the front-ends in [`Notice::System`].
pub use crate::sim::world::News;
use crate::sim::{RunOptions, Sim};
use crate::telemetry::observed::TeamView;

/// Something the team is told as it happens.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Notice {
    /// From the system: alerts, faults, actions taking effect.
    System(News),
    /// A message from someone outside the team.
    Inject {
        at: SimTime,
        from: String,
        message: String,
    },
    /// The drill reached its end.
    End { at: SimTime },
}

impl Notice {
    #[must_use]
    pub fn at(&self) -> SimTime {
        match self {
            Notice::System(n) => n.at(),
            Notice::Inject { at, .. } | Notice::End { at } => *at,
        }
    }
}

/// What the session answered to one accepted line.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    /// When the line was accepted (before any wait it asked for).
    pub at: SimTime,
    pub role: String,
    /// The command without its role prefix, as it goes into the transcript.
    pub input: String,
    /// The answer to print.
    pub output: String,
    /// News that happened while the command ran (during a wait), in order.
    pub notices: Vec<Notice>,
    /// The clock commands, for a realtime front-end.
    pub clock: Option<ClockChange>,
}

/// A change the realtime clock should make.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ClockChange {
    Pause,
    Resume,
    Speed(f64),
}

/// A drill in progress.
pub struct Session {
    drill: Drill,
    sim: Sim,
    attribution: Attribution,
    team: Team,
    injects_sent: Vec<bool>,
    role: String,
    ended: Option<SimTime>,
    adhoc: Vec<AdHocInject>,
}

/// An inject a facilitator pushed during play (a war room's), not one of the drill's: news for
/// people that changes nothing in the simulation, kept for the debrief.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdHocInject {
    pub at: SimTime,
    /// The role it was addressed to; `None`: everyone.
    pub to: Option<String>,
    pub from: String,
    pub message: String,
}

/// The slice the session advances the engine by, so that anchors on engine events (which
/// resolve at bucket ends) deliver injects on time.
fn slice(sim: &Sim) -> Duration {
    sim.telemetry().bucket_width
}

impl Session {
    /// Starts `drill` (validated) with `seed` overriding the drill's. Attributes the drill's
    /// alerts to its faults first (runs with no team; see [`attribution`]).
    #[must_use]
    pub fn new(drill: Drill, seed: Option<u64>) -> Self {
        let attribution = attribution::attribute(&drill, seed.unwrap_or(drill.seed));
        Session::with_attribution(drill, seed, attribution)
    }

    /// [`Session::new`] with the attribution already computed for this drill and seed.
    #[must_use]
    pub fn with_attribution(drill: Drill, seed: Option<u64>, attribution: Attribution) -> Self {
        let sim = Sim::new(
            &drill,
            &RunOptions {
                seed,
                cause_alerts: Some(attribution.cause_alerts.clone()),
                ..RunOptions::default()
            },
        );
        let role = drill
            .roles
            .first()
            .map_or_else(|| "team".to_owned(), |r| r.id.clone());
        let injects_sent = vec![false; drill.injects.len()];
        Session {
            drill,
            sim,
            attribution,
            team: Team::default(),
            injects_sent,
            role,
            ended: None,
            adhoc: Vec::new(),
        }
    }

    /// Keeps an ad-hoc inject delivered now (see [`AdHocInject`]); the simulation is untouched.
    pub fn note_inject(&mut self, to: Option<&str>, from: &str, message: &str) {
        self.adhoc.push(AdHocInject {
            at: self.now(),
            to: to.map(str::to_owned),
            from: from.to_owned(),
            message: message.to_owned(),
        });
    }

    /// The ad-hoc injects delivered so far, in order.
    #[must_use]
    pub fn adhoc_injects(&self) -> &[AdHocInject] {
        &self.adhoc
    }

    #[must_use]
    pub fn drill(&self) -> &Drill {
        &self.drill
    }

    /// Who held each role from the start (`--people`, a transcript header's `people`): the
    /// roles view and the debrief name them until an `assign` changes them.
    pub fn set_people(&mut self, people: Vec<(String, String)>) {
        self.team.people = people;
    }

    /// Which alerts each fault caused on this session's seed.
    #[must_use]
    pub fn attribution(&self) -> &Attribution {
        &self.attribution
    }

    #[must_use]
    pub fn sim(&self) -> &Sim {
        &self.sim
    }

    pub fn sim_mut(&mut self) -> &mut Sim {
        &mut self.sim
    }

    #[must_use]
    pub fn team(&self) -> &Team {
        &self.team
    }

    #[must_use]
    pub fn now(&self) -> SimTime {
        self.sim.now()
    }

    /// The role that acts when a line names none.
    #[must_use]
    pub fn current_role(&self) -> &str {
        &self.role
    }

    /// When the drill ended (by `end` or by reaching its duration).
    #[must_use]
    pub fn ended(&self) -> Option<SimTime> {
        self.ended
    }

    /// `09:27:10` on the drill's clock, or `T+00:42:10` without one.
    #[must_use]
    pub fn clock_text(&self, t: SimTime) -> String {
        clock_text(self.drill.clock_start, t)
    }

    /// Moves simulated time to `t` (capped at the drill's end) and returns what happened.
    pub fn advance_to(&mut self, t: SimTime) -> Vec<Notice> {
        self.advance_until(t, false)
    }

    /// Advances towards `limit`; with `stop_at_page`, stops at the end of the bucket in which a
    /// page alert fires.
    fn advance_until(&mut self, limit: SimTime, stop_at_page: bool) -> Vec<Notice> {
        let mut notices = Vec::new();
        if self.ended.is_some() {
            return notices;
        }
        let limit = limit.min(self.sim.end());
        while self.sim.now() < limit {
            let next = self.sim.now().after(slice(&self.sim)).min(limit);
            // Injects due inside this slice are delivered at their own time.
            let target = self
                .next_inject_due()
                .filter(|d| *d < next && *d > self.sim.now())
                .unwrap_or(next);
            self.sim.run_until(target);
            let news = self.sim.take_news();
            let paged = news.iter().any(|n| {
                matches!(
                    n,
                    News::AlertFiring {
                        severity: Severity::Page,
                        ..
                    }
                )
            });
            notices.extend(news.into_iter().map(Notice::System));
            notices.extend(self.deliver_injects());
            if paged && stop_at_page {
                break;
            }
        }
        if self.sim.is_finished() && self.ended.is_none() {
            let at = self.sim.now();
            self.ended = Some(at);
            notices.push(Notice::End { at });
        }
        notices.sort_by_key(Notice::at);
        notices
    }

    fn next_inject_due(&self) -> Option<SimTime> {
        self.drill
            .injects
            .iter()
            .zip(&self.injects_sent)
            .filter(|(_, sent)| !**sent)
            .filter_map(|(i, _)| anchor::resolve(&i.at, &self.drill, self.sim.truth(), &self.team))
            .min()
    }

    fn deliver_injects(&mut self) -> Vec<Notice> {
        let now = self.sim.now();
        let mut out = Vec::new();
        for (i, inject) in self.drill.injects.iter().enumerate() {
            if self.injects_sent[i] {
                continue;
            }
            if let Some(due) =
                anchor::resolve(&inject.at, &self.drill, self.sim.truth(), &self.team)
                && due <= now
            {
                self.injects_sent[i] = true;
                out.push(Notice::Inject {
                    at: due.max(now.min(due)),
                    from: inject.from.clone(),
                    message: inject.message.clone(),
                });
            }
        }
        out
    }

    /// Parses and runs one typed line at the current time.
    ///
    /// # Errors
    /// The line was refused (unknown command, bad argument, the drill is over); nothing changed.
    pub fn execute(&mut self, line: &str) -> Result<Option<Accepted>, CommandError> {
        let Some(parsed) = command::parse(line, &self.drill)? else {
            return Ok(None);
        };
        let input = strip_role(line);
        self.run(parsed, input).map(Some)
    }

    /// Whether `role` may act in this drill: one of its roles, or `team` (the role of a
    /// drill that defines none).
    #[must_use]
    pub fn knows_role(&self, role: &str) -> bool {
        role == "team" || self.drill.roles.iter().any(|r| r.id == role)
    }

    /// The message refusing an unknown `role`, listing the drill's roles.
    #[must_use]
    pub fn unknown_role(&self, role: &str) -> String {
        let known: Vec<&str> = self.drill.roles.iter().map(|r| r.id.as_str()).collect();
        let known = if known.is_empty() {
            "team".to_owned()
        } else {
            known.join(", ")
        };
        format!(
            "unknown role `{}` (this drill's roles: {known})",
            crate::sanitize::shown(role)
        )
    }

    /// Runs one transcript line: `input` (no prefix) as `role`.
    ///
    /// # Errors
    /// As [`Session::execute`]; in a replay this means the transcript does not fit the drill.
    pub fn execute_as(
        &mut self,
        role: &str,
        input: &str,
    ) -> Result<Option<Accepted>, CommandError> {
        let Some(mut parsed) = command::parse(input, &self.drill)? else {
            return Ok(None);
        };
        if self.drill.roles.iter().any(|r| r.id == role) || role == "team" {
            parsed.role = Some(role.to_owned());
        }
        self.run(parsed, input.trim().to_owned()).map(Some)
    }

    fn run(&mut self, parsed: Parsed, input: String) -> Result<Accepted, CommandError> {
        let Parsed { role, command } = parsed;
        if let (Some(at), Command::End) = (self.ended, &command) {
            // Ending an ended drill changes nothing; a transcript records `end` at the
            // drill's end so that its replay stops there too.
            return Ok(Accepted {
                at,
                role: role.unwrap_or_else(|| self.role.clone()),
                input,
                output: "the drill is over".to_owned(),
                notices: Vec::new(),
                clock: None,
            });
        }
        if self.ended.is_some() && !command.is_look() {
            return Err(CommandError {
                message: "the drill has ended".into(),
                hint: Some("only looking commands work now: dash, alerts, logs, checklist".into()),
            });
        }
        let role = role.unwrap_or_else(|| self.role.clone());
        let at = self.now();
        let mut notices = Vec::new();
        let mut clock = None;
        let mut detail = Detail::None;
        let output = match &command {
            Command::Wait(d) => {
                let target = at.after(*d);
                notices = self.advance_until(target, false);
                if self.now() < target && self.ended.is_some() {
                    format!(
                        "waited {}, not {d}: the drill ended at {}",
                        self.now().since(at),
                        self.clock_text(self.now())
                    )
                } else {
                    format!("waited {d}; it is now {}", self.clock_text(self.now()))
                }
            }
            Command::WaitUntilPage => {
                let end = self.sim.end();
                notices = self.advance_until(end, true);
                if self.ended.is_some() {
                    "no page before the end of the drill".to_owned()
                } else {
                    format!("paged at {}", self.clock_text(self.now()))
                }
            }
            Command::Pause => {
                clock = Some(ClockChange::Pause);
                "clock paused".to_owned()
            }
            Command::Resume => {
                clock = Some(ClockChange::Resume);
                "clock running".to_owned()
            }
            Command::Speed(x) => {
                clock = Some(ClockChange::Speed(*x));
                format!("clock speed {x}×")
            }
            Command::Dash => views::dashboard(&self.view()),
            Command::Alerts => views::alerts(&self.view()),
            Command::Logs { level, last, grep } => {
                let filter = LogFilter {
                    level: *level,
                    last: *last,
                    grep: grep.clone(),
                    limit: 20,
                };
                views::logs(&self.view(), &filter).map_err(|m| CommandError {
                    message: m,
                    hint: None,
                })?
            }
            Command::Metric { name, last } => {
                views::metric(&self.view(), name, *last).map_err(|m| CommandError {
                    message: m,
                    hint: None,
                })?
            }
            Command::Checklist => self.render_checklist(),
            Command::Roles => self.render_roles(),
            Command::Help(topic) => self.render_help(topic.as_deref())?,
            Command::Ack(alert) => {
                let (alerts, text) = self.ack(alert.as_deref())?;
                detail = Detail::Acked { alerts };
                text
            }
            Command::Declare(sev) => match self.team.severity() {
                Some(old) if old == *sev => {
                    return Err(plain(format!("already declared at sev{sev}")));
                }
                Some(old) => format!("severity changed from sev{old} to sev{sev}"),
                None => format!("incident declared at sev{sev}"),
            },
            Command::Assign { role: r, person } => format!("{person} is now {r}"),
            Command::Update(text) => format!("status update posted: {text}"),
            Command::Note(text) => format!("noted: {text}"),
            Command::Diagnose(cause) => {
                let correct = self.is_root_cause(cause);
                detail = Detail::Diagnosis { correct };
                format!("diagnosis recorded: {cause}")
            }
            Command::Resolve => {
                if self.team.first("resolve").is_some() {
                    return Err(plain("the incident is already resolved"));
                }
                let firing = self.firing_pages();
                if firing.is_empty() {
                    "incident resolved".to_owned()
                } else {
                    format!(
                        "incident resolved (while still firing: {})",
                        firing.join(", ")
                    )
                }
            }
            Command::Action { name, params } => {
                let lands = self
                    .sim
                    .order_action(name, params)
                    .map_err(|e| plain(e.to_string()))?;
                detail = Detail::Ordered { lands };
                let delay = lands.since(at);
                if delay.is_zero() {
                    format!("{name}: ordered; takes effect now")
                } else {
                    format!(
                        "{name}: ordered; takes effect in {delay}, at {}",
                        self.clock_text(lands)
                    )
                }
            }
            Command::End => {
                self.ended = Some(at);
                notices.push(Notice::End { at });
                "drill ended".to_owned()
            }
        };
        if !command.is_look() {
            self.role.clone_from(&role);
        }
        self.team.log.push(Entry {
            at,
            role: role.clone(),
            input: input.clone(),
            command,
            detail,
        });
        Ok(Accepted {
            at,
            role,
            input,
            output,
            notices,
            clock,
        })
    }

    /// What the team sees of the run now: telemetry through a [`TeamView`], alert states,
    /// the drill's panels. Every player-facing view is built from this.
    #[must_use]
    pub fn view(&self) -> ViewContext<'_> {
        ViewContext {
            telemetry: TeamView::new(self.sim.telemetry()),
            alerts: self.sim.alert_states(),
            now: self.now(),
            clock_start: self.drill.clock_start,
            pools: self.sim.pool_names(),
            steps: self.sim.step_names(),
            panels: &self.drill.dashboard,
        }
    }

    fn firing_pages(&self) -> Vec<String> {
        self.sim
            .alert_states()
            .iter()
            .filter(|(r, s)| r.severity == Severity::Page && s.phase == AlertPhase::Firing)
            .map(|(r, _)| r.name.clone())
            .collect()
    }

    /// Acknowledges `alert`, or every firing alert not yet acknowledged in its current firing.
    fn ack(&self, alert: Option<&str>) -> Result<(Vec<String>, String), CommandError> {
        let states = self.sim.alert_states();
        let unacked = |name: &str, since: SimTime| !self.team.acked_since(name, since);
        if let Some(name) = alert {
            let (_, state) = states
                .iter()
                .find(|(r, _)| r.name == name)
                .ok_or_else(|| plain(format!("no alert `{name}`")))?;
            if state.phase != AlertPhase::Firing {
                return Err(plain(format!("{name} is not firing")));
            }
            if !unacked(name, state.since) {
                return Err(plain(format!("{name} is already acknowledged")));
            }
            return Ok((vec![name.to_owned()], format!("acknowledged {name}")));
        }
        let firing: Vec<String> = states
            .iter()
            .filter(|(r, s)| s.phase == AlertPhase::Firing && unacked(&r.name, s.since))
            .map(|(r, _)| r.name.clone())
            .collect();
        if firing.is_empty() {
            return Err(CommandError {
                message: "nothing firing is unacknowledged".into(),
                hint: Some("`alerts` shows every alert".into()),
            });
        }
        let text = format!("acknowledged {}", firing.join(", "));
        Ok((firing, text))
    }

    fn is_root_cause(&self, cause: &str) -> bool {
        self.drill
            .root_cause
            .as_ref()
            .is_some_and(|rc| crate::drill::diagnosis::names_cause(cause, rc))
    }

    fn render_checklist(&self) -> String {
        let results = checklist::evaluate_all(
            &self.drill,
            self.sim.truth(),
            &self.team,
            self.now(),
            self.ended.is_some(),
        );
        if results.is_empty() {
            return "this drill has no checklists".to_owned();
        }
        let mut out = String::new();
        for role in &self.drill.roles {
            let _ = writeln!(out, "{} ({})", role.title, role.id);
            for r in results.iter().filter(|r| r.role == role.id) {
                let (mark, when) = match r.status.clone().by_role(&r.role) {
                    Status::OnTime { at, by } => {
                        ("✓", format!("done {} by {by}", self.clock_text(at)))
                    }
                    Status::Late {
                        at,
                        by,
                        late_seconds,
                    } => (
                        "~",
                        format!(
                            "done {} by {by}, {} late",
                            self.clock_text(at),
                            Duration::from_secs_f64(late_seconds)
                        ),
                    ),
                    Status::Premature { at, by } => (
                        "✗",
                        format!(
                            "done {} by {by}, before the system recovered",
                            self.clock_text(at)
                        ),
                    ),
                    Status::Missed => ("✗", "missed".to_owned()),
                    Status::Overdue => (
                        "!",
                        format!(
                            "overdue since {}",
                            r.due.map_or_else(String::new, |d| self.clock_text(d))
                        ),
                    ),
                    Status::Open => (
                        "·",
                        match r.due {
                            Some(due) => format!("due {}", self.clock_text(due)),
                            None => format!("due {}", r.due_text),
                        },
                    ),
                };
                let _ = writeln!(out, "  {mark} {:<48} {when}", r.text);
            }
        }
        out.trim_end().to_owned()
    }

    fn render_roles(&self) -> String {
        if self.drill.roles.is_empty() {
            return "this drill defines no roles".to_owned();
        }
        let assigned = self.team.assignments();
        let mut out = String::new();
        for r in &self.drill.roles {
            let who = assigned
                .iter()
                .find(|(id, _)| id == &r.id)
                .map_or("unassigned", |(_, p)| p.as_str());
            let acting = if r.id == self.role {
                "  ← acting"
            } else {
                ""
            };
            let _ = writeln!(out, "{:<8} {:<24} {who}{acting}", r.id, r.title);
        }
        out.trim_end().to_owned()
    }

    fn render_help(&self, topic: Option<&str>) -> Result<String, CommandError> {
        let mut out = String::new();
        if let Some(topic) = topic {
            if let Some((_, usage, text)) = BUILTINS.iter().find(|(n, _, _)| *n == topic) {
                let _ = writeln!(out, "{usage}\n  {text}");
                if topic == "metric" {
                    let _ = write!(
                        out,
                        "  names: {}",
                        views::metric_names(self.sim.pool_names(), self.sim.step_names())
                            .join(", ")
                    );
                }
                return Ok(out.trim_end().to_owned());
            }
            if let Some(a) = self.drill.actions.iter().find(|a| a.name == topic) {
                let _ = write!(
                    out,
                    "{}\n  takes effect {} after it is ordered",
                    if a.help.is_empty() { &a.name } else { &a.help },
                    a.delay
                );
                return Ok(out);
            }
            return Err(plain(format!("no command `{topic}`")));
        }
        let _ = writeln!(
            out,
            "Commands ([ROLE:] COMMAND [ARGS]; without a role, the last role acts):"
        );
        for (_, usage, text) in BUILTINS {
            let _ = writeln!(out, "  {usage:<44} {text}");
        }
        if !self.drill.actions.is_empty() {
            let _ = writeln!(out, "Actions on the system:");
            for a in &self.drill.actions {
                let usage = std::iter::once(a.name.clone())
                    .chain(a.params.iter().map(|p| format!("{}=N", p.name())))
                    .collect::<Vec<_>>()
                    .join(" ");
                let _ = writeln!(out, "  {usage:<44} {} (takes {})", a.help, a.delay);
            }
        }
        Ok(out.trim_end().to_owned())
    }

    /// A notice as the team reads it: `[09:27:10] FIRING DbAcquireTimeouts (page): ...`.
    #[must_use]
    pub fn render_notice(&self, notice: &Notice) -> String {
        let t = self.clock_text(notice.at());
        let summary = |alert: &str| {
            self.drill
                .alerts
                .iter()
                .find(|a| a.name == alert)
                .map(|a| a.summary.clone())
                .unwrap_or_default()
        };
        match notice {
            Notice::System(News::AlertPending { alert, value, .. }) => {
                let truth = self
                    .drill
                    .alerts
                    .iter()
                    .any(|a| a.name == *alert && a.when.metric().is_ground_truth());
                if truth {
                    format!("[{t}] pending  {alert}")
                } else {
                    format!("[{t}] pending  {alert} (value {value:.3})")
                }
            }
            Notice::System(News::AlertFiring {
                alert, severity, ..
            }) => {
                let sev = match severity {
                    Severity::Page => "PAGE",
                    Severity::Ticket => "ticket",
                };
                format!("[{t}] FIRING   {alert} [{sev}] {}", summary(alert))
            }
            Notice::System(News::AlertResolved { alert, .. }) => format!("[{t}] resolved {alert}"),
            Notice::System(
                News::FaultStarted { .. } | News::FaultEnded { .. } | News::Recovered { .. },
            ) => String::new(),
            Notice::System(News::ActionLanded { action, .. }) => {
                format!("[{t}] {action} has taken effect")
            }
            Notice::Inject { from, message, .. } => format!("[{t}] {from}: \"{message}\""),
            Notice::End { .. } => format!("[{t}] the drill is over"),
        }
    }
}

fn plain(message: impl Into<String>) -> CommandError {
    CommandError {
        message: message.into(),
        hint: None,
    }
}

/// The line without a leading `role:` prefix.
fn strip_role(line: &str) -> String {
    let line = line.trim();
    let first = line.split_whitespace().next().unwrap_or_default();
    match first.split_once(':') {
        Some((prefix, _)) if !prefix.is_empty() && !prefix.contains(['"', '=']) => line
            [line.find(':').map_or(0, |i| i + 1)..]
            .trim()
            .to_owned(),
        _ => line.to_owned(),
    }
}

/// `09:27:10` from a clock start, or `T+00:42:10`.
#[must_use]
pub fn clock_text(start: Option<ClockTime>, t: SimTime) -> String {
    match start {
        Some(start) => start.after(t.since_start()),
        None => t.to_string(),
    }
}

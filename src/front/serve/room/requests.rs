//! What a room does for each request but the clock: a player's command (checked against the
//! room's rules: a player acts only as their role and never runs the clock), a join, the
//! facilitator's inject and checklist reveal, and the debrief, summary and metrics.
//!
//! It does not move time (`clock` does) and does not write files itself (`persist` does).

use super::{
    CommandReply, FACILITATOR, MAX_COMMAND, MAX_MESSAGE, MAX_NAME, Person, Refusal, RefusalKind,
    Room, State,
};
use crate::report;
use crate::score;
use crate::session::command::{self, Command};
use crate::session::summary::SessionSummary;
use crate::session::transcript::{self, Line};

impl Room {
    pub(super) fn command(
        &mut self,
        role: &str,
        person: &str,
        line: &str,
    ) -> Result<CommandReply, Refusal> {
        self.usable()?;
        let joined = Person {
            role: role.to_owned(),
            name: person.trim().to_owned(),
        };
        if !self.meta.people.contains(&joined) {
            return Err(Refusal {
                kind: RefusalKind::Invalid,
                message: format!(
                    "{} has not joined as {role}",
                    crate::sanitize::shown(person)
                ),
                hint: Some("join the room with your name first".into()),
            });
        }
        let person = joined.name.as_str();
        let line = line.trim();
        if line.len() > MAX_COMMAND {
            return Err(Refusal::invalid(format!(
                "a command is at most {MAX_COMMAND} bytes"
            )));
        }
        let bad = |e: command::CommandError| Refusal {
            kind: RefusalKind::Invalid,
            message: e.message,
            hint: e.hint,
        };
        let Some(parsed) = command::parse(line, self.session.drill()).map_err(bad)? else {
            return Err(Refusal::invalid("type a command; `help` lists them"));
        };
        let mut input = line;
        if let Some(named) = &parsed.role {
            if named != role {
                return Err(Refusal::invalid(format!(
                    "you play {role}: a line cannot act as {}",
                    crate::sanitize::shown(named)
                )));
            }
            input = line.split_once(':').map_or(line, |(_, rest)| rest).trim();
        }
        match parsed.command {
            Command::Wait(_)
            | Command::WaitUntilPage
            | Command::Pause
            | Command::Resume
            | Command::Speed(_) => {
                return Err(Refusal {
                    kind: RefusalKind::Invalid,
                    message: "in a war room the facilitator runs the clock".into(),
                    hint: Some("ask the facilitator to move time on".into()),
                });
            }
            Command::End => {
                return Err(Refusal::invalid(
                    "in a war room the facilitator ends the drill",
                ));
            }
            Command::Checklist if !self.meta.checklists_revealed => {
                return Err(Refusal::invalid(
                    "the facilitator has not shown the checklists in this room",
                ));
            }
            _ => {}
        }
        if self.finished && !parsed.command.is_look() {
            self.not_over()?;
        }
        let action = match &parsed.command {
            Command::Action { name, params } => Some((name.clone(), params.clone())),
            _ => None,
        };
        let update = match &parsed.command {
            Command::Update(text) => Some(text.clone()),
            _ => None,
        };
        let accepted = self
            .session
            .execute_as(role, input)
            .map_err(bad)?
            .ok_or_else(|| Refusal::invalid("type a command; `help` lists them"))?;
        self.record_accepted(&accepted, person)?;
        if let Some((name, params)) = action {
            self.push_action_fact(accepted.at, &name, &params);
            self.push_mark(
                crate::front::serve::events::Audience::All,
                accepted.at,
                "ordered",
                &format!("{} ordered", accepted.input),
            );
        }
        if let (Some(text), Some(feed)) = (update, &self.notify) {
            feed.update(&self.session, accepted.at, role, Some(person), &text);
        }
        self.publish(&accepted.notices);
        self.check_end()?;
        self.push_state();
        Ok(CommandReply {
            at_ns: accepted.at.nanos(),
            clock: self.session.clock_text(accepted.at),
            input: accepted.input,
            output: accepted.output,
        })
    }

    pub(super) fn inject(
        &mut self,
        to: Option<&str>,
        from: &str,
        message: &str,
    ) -> Result<State, Refusal> {
        self.usable()?;
        self.not_over()?;
        if let Some(role) = to
            && !self.session.drill().roles.iter().any(|r| r.id == role)
        {
            return Err(Refusal::invalid(self.session.unknown_role(role)));
        }
        let from = from.trim();
        let message = message.trim();
        if from.is_empty() || from.chars().count() > MAX_NAME {
            return Err(Refusal::invalid(format!(
                "an inject needs a sender of 1 to {MAX_NAME} characters"
            )));
        }
        if message.is_empty() || message.len() > MAX_MESSAGE {
            return Err(Refusal::invalid(format!(
                "an inject needs a message of 1 to {MAX_MESSAGE} bytes"
            )));
        }
        let now = self.session.now();
        self.record(&Line {
            at_ns: now.nanos(),
            role: to.unwrap_or(transcript::EVERYONE).to_owned(),
            input: message.to_owned(),
            person: Some(FACILITATOR.to_owned()),
            inject_from: Some(from.to_owned()),
        })?;
        self.session.note_inject(to, from, message);
        self.push_inject(to, from, message);
        Ok(self.state())
    }

    pub(super) fn reveal(&mut self, revealed: bool) -> Result<State, Refusal> {
        self.meta.checklists_revealed = revealed;
        self.save()?;
        self.last_role_checklists.clear();
        self.push_checklists();
        self.push_state();
        Ok(self.state())
    }

    pub(super) fn join(&mut self, role: String, name: &str) -> Result<(), Refusal> {
        let name = name.trim().to_owned();
        if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control)
        {
            return Err(Refusal::invalid(format!(
                "a name is 1 to {MAX_NAME} printable characters"
            )));
        }
        if name == FACILITATOR {
            return Err(Refusal::invalid("choose another name"));
        }
        let person = Person { role, name };
        if !self.meta.people.contains(&person) {
            self.meta.people.push(person);
            self.save()?;
            self.push_people();
        }
        Ok(())
    }

    pub(super) fn debrief(&mut self, format: report::Format) -> Result<String, Refusal> {
        if !self.finished {
            return Err(Refusal::conflict(
                "the debrief is written when the drill ends",
            ));
        }
        let key = match format {
            report::Format::Html => "html",
            report::Format::Json => "json",
            report::Format::Markdown => "md",
        };
        if let Some(text) = self.debriefs.get(key) {
            return Ok(text.clone());
        }
        let text = format.render(&score::debrief::debrief(&self.session));
        self.debriefs.insert(key, text.clone());
        Ok(text)
    }

    pub(super) fn summary(&self) -> Result<String, Refusal> {
        if !self.finished {
            return Err(Refusal::conflict(
                "the summary is written when the drill ends",
            ));
        }
        let summary = SessionSummary::of(&self.session);
        Ok(serde_json::to_string_pretty(&summary).expect("summaries serialise") + "\n")
    }

    pub(super) fn metrics(&mut self) -> String {
        crate::telemetry::prometheus::encode_text(&self.sampler.sample(self.session.sim()))
    }
}

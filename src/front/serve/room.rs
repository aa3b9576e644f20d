//! One war room: a [`Session`] on its own thread, driven by a clock and by requests from the
//! web front-end, with its transcript and metadata in `--data/rooms/<id>/`.
//!
//! The session is synchronous and does no I/O; the room thread owns it, so the HTTP runtime
//! never waits on a simulation and one slow room never holds up another. Requests arrive on a
//! channel with a reply channel. Every accepted input (a command, an ad-hoc inject, a clock
//! change) is written and flushed to the transcript before it is answered, so a server killed
//! at any moment comes back ([`Room::recover`]) with every input it acknowledged.
//!
//! What the room tells its streams goes into its [`EventLog`]: events for everyone are built
//! only from what the team may see ([`Session::view`], the rendered notices, the commands and
//! their answers); the truth (fault state, wrong answers as they happen, checklist verdicts)
//! goes to the facilitator's audience only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration as WallDuration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tokio::sync::oneshot;

use super::events::{Audience, EventLog};
use crate::drill::Drill;
use crate::front::terminal::{Clock, WallClock};
use crate::report;
use crate::sanitize::shown_line;
use crate::score;
use crate::session::checklist;
use crate::session::command::{self, Command};
use crate::session::summary::SessionSummary;
use crate::session::transcript::{self, ClockMode, Header, Line, Transcript, Writer};
use crate::session::{ClockChange, Notice, Session};
use crate::session::{News, SimTime};
use crate::telemetry::observed::{Observable, ObservedBucket, TeamView};
use crate::telemetry::series::Signal;

/// How often a running room moves its clock.
const TICK: WallDuration = WallDuration::from_millis(100);

/// The longest command line a player may send.
pub const MAX_COMMAND: usize = 1000;
/// The longest inject message and person name.
pub const MAX_MESSAGE: usize = 2000;
pub const MAX_NAME: usize = 40;

/// The tokens of a room: each an unguessable secret that is the whole of a link's power.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tokens {
    pub facilitator: String,
    pub projector: String,
    /// One per role, in drill order.
    pub roles: BTreeMap<String, String>,
}

/// A person who joined, in the role their link is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub role: String,
    pub name: String,
}

/// A room's metadata, written whole (`room.json`) whenever it changes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Meta {
    pub id: String,
    pub drill_name: String,
    pub title: String,
    pub seed: u64,
    pub clock: ClockMode,
    pub speed: f64,
    pub started: bool,
    pub paused: bool,
    pub checklists_revealed: bool,
    pub people: Vec<Person>,
    pub tokens: Tokens,
    /// How many times the room was started (1 when created); event ids carry it.
    pub epoch: u64,
    /// The team playing, if the facilitator named one: the finished session is then recorded
    /// in the history store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefusalKind {
    /// The request makes no sense (a bad command, a bad value).
    Invalid,
    /// It makes no sense now (the drill is over, or not over yet).
    Conflict,
    /// The room cannot go on (its transcript cannot be written).
    Broken,
}

#[derive(Debug, Clone)]
pub struct Refusal {
    pub kind: RefusalKind,
    pub message: String,
    pub hint: Option<String>,
}

impl Refusal {
    fn invalid(message: impl Into<String>) -> Self {
        Refusal {
            kind: RefusalKind::Invalid,
            message: message.into(),
            hint: None,
        }
    }
    fn conflict(message: impl Into<String>) -> Self {
        Refusal {
            kind: RefusalKind::Conflict,
            message: message.into(),
            hint: None,
        }
    }
}

pub type Reply<T> = oneshot::Sender<Result<T, Refusal>>;

/// What the facilitator does with the clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ClockOp {
    Start,
    Pause,
    Resume,
    Speed(f64),
    End,
}

/// The answer to an accepted command.
#[derive(Debug, Clone, Serialize)]
pub struct CommandReply {
    pub at_ns: u64,
    pub clock: String,
    pub input: String,
    pub output: String,
}

/// Where a room stands.
#[derive(Debug, Clone, Serialize)]
#[allow(clippy::struct_excessive_bools)] // independent facts about the room, as JSON
pub struct State {
    pub now_ns: u64,
    pub clock: String,
    pub mode: ClockMode,
    pub running: bool,
    pub started: bool,
    pub speed: f64,
    pub ended: bool,
    pub checklists_revealed: bool,
    /// Lines in the transcript after its header.
    pub inputs: usize,
}

/// A request to a room's thread.
pub enum Request {
    Command {
        role: String,
        person: String,
        line: String,
        reply: Reply<CommandReply>,
    },
    /// Moves a turn-based room's time to `to`.
    Advance {
        to: SimTime,
        reply: Reply<State>,
    },
    Clock {
        op: ClockOp,
        reply: Reply<State>,
    },
    Inject {
        to: Option<String>,
        from: String,
        message: String,
        reply: Reply<State>,
    },
    Checklists {
        revealed: bool,
        reply: Reply<State>,
    },
    Join {
        role: String,
        name: String,
        reply: Reply<()>,
    },
    Debrief {
        format: report::Format,
        reply: Reply<String>,
    },
    Summary {
        reply: Reply<String>,
    },
    State {
        reply: Reply<State>,
    },
    /// The room's live metrics in the Prometheus text format.
    Metrics {
        reply: Reply<String>,
    },
}

/// What the server keeps of a room: its channel, its events and what links need.
pub struct RoomHandle {
    pub id: String,
    pub title: String,
    pub drill_name: String,
    pub roles: Vec<String>,
    pub tokens: Tokens,
    pub log: Arc<EventLog>,
    pub dir: PathBuf,
    pub ended: Arc<AtomicBool>,
    tx: mpsc::Sender<Request>,
}

impl RoomHandle {
    /// Sends a request and waits for the answer without blocking the runtime.
    pub async fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Request) -> Result<T, Refusal> {
        let (reply, answer) = oneshot::channel();
        let gone = || Refusal {
            kind: RefusalKind::Broken,
            message: "the room has stopped (see the server's output)".into(),
            hint: None,
        };
        self.tx.send(make(reply)).map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }

    #[must_use]
    pub fn transcript_path(&self) -> PathBuf {
        self.dir.join(TRANSCRIPT)
    }
}

pub const TRANSCRIPT: &str = "transcript.jsonl";
pub const META: &str = "room.json";

/// A room being played, owned by its thread.
pub struct Room {
    session: Session,
    clock: Option<WallClock>,
    writer: Writer,
    dir: PathBuf,
    meta: Meta,
    log: Arc<EventLog>,
    ended_flag: Arc<AtomicBool>,
    buckets_sent: usize,
    last_alerts: String,
    last_checklists: String,
    last_role_checklists: BTreeMap<String, String>,
    inputs: usize,
    finished: bool,
    broken: Option<String>,
    debriefs: BTreeMap<&'static str, String>,
    /// The same drill and seed with no team, bucket by bucket to the drill's end: what the
    /// facilitator's "no response, as it would stand now" is read from.
    no_response: Vec<crate::telemetry::series::Bucket>,
    /// The history store to record the finished session in (see [`Room::record_to`]).
    history: Option<PathBuf>,
    recorded: bool,
    sampler: crate::export::sample::Sampler,
}

/// Writes `meta` whole to `dir/room.json`.
fn save_meta(dir: &Path, meta: &Meta) -> Result<(), String> {
    let path = dir.join(META);
    crate::files::write_atomic(&path, |out| {
        serde_json::to_writer_pretty(&mut *out, meta).map_err(std::io::Error::other)?;
        out.write_all(b"\n")
    })
    .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

impl Room {
    /// Creates a room's directory, transcript and metadata.
    ///
    /// # Errors
    /// The directory or its files cannot be written.
    pub fn create(
        dir: PathBuf,
        text: &str,
        drill: Drill,
        meta: Meta,
    ) -> Result<(Room, RoomHandle, mpsc::Receiver<Request>), String> {
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let header = Header::new(text, &drill, meta.seed, meta.clock, meta.speed);
        let path = dir.join(TRANSCRIPT);
        let writer = Writer::create(&path, &header)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        save_meta(&dir, &meta)?;
        let session = Session::new(drill, Some(meta.seed));
        Ok(Room::assemble(session, writer, dir, meta, 0))
    }

    /// Brings a room back from its directory: replays its transcript (rebuilding its events)
    /// and goes on from the time of its last accepted input.
    ///
    /// # Errors
    /// A missing or damaged `room.json` or transcript.
    pub fn recover(dir: &Path) -> Result<(Room, RoomHandle, mpsc::Receiver<Request>), String> {
        let meta_path = dir.join(META);
        let text = crate::files::read_text_limited(&meta_path, 1024 * 1024, "room metadata")?;
        let mut meta: Meta = serde_json::from_str(&text)
            .map_err(|e| format!("{}: not a room's metadata: {e}", meta_path.display()))?;
        meta.epoch += 1;
        let path = dir.join(TRANSCRIPT);
        let read = Transcript::read(&path).map_err(|e| e.to_string())?;
        if let Some(note) = read.torn_note(&path, "it is dropped") {
            eprintln!("{note}");
        }
        let drill = read.drill(&path).map_err(|e| e.to_string())?;
        let session = Session::new(drill, Some(read.header.seed));
        let writer = Writer::append(&path, read.complete_len)
            .map_err(|e| format!("cannot append to {}: {e}", path.display()))?;
        let (mut room, handle, rx) =
            Room::assemble(session, writer, dir.to_owned(), meta, read.lines.len());
        room.push_state();
        for (i, line) in read.lines.iter().enumerate() {
            let refuse = |message: String| {
                format!(
                    "{}:{}: replay refused `{}`: {message}",
                    path.display(),
                    i + 2,
                    line.input
                )
            };
            if line.at() < room.session.now() {
                return Err(refuse("it is recorded before an earlier line".into()));
            }
            let notices = room.session.advance_to(line.at());
            room.publish(&notices);
            if let Some(from) = &line.inject_from {
                let to = (line.role != transcript::EVERYONE).then_some(line.role.as_str());
                room.push_inject(to, from, &line.input);
                continue;
            }
            if !room.session.knows_role(&line.role) {
                return Err(refuse(room.session.unknown_role(&line.role)));
            }
            let accepted = room
                .session
                .execute_as(&line.role, &line.input)
                .map_err(|e| refuse(e.to_string()))?;
            if let Some(a) = accepted {
                room.push_command(
                    a.at,
                    &a.role,
                    line.person.as_deref().unwrap_or(""),
                    &a.input,
                    &a.output,
                );
                if let Some(change) = a.clock {
                    room.apply_recorded_clock(change);
                }
                room.publish(&a.notices);
            }
        }
        if room.session.ended().is_some() {
            room.finished = true;
            room.ended_flag.store(true, Ordering::Relaxed);
            room.push_end();
        }
        // The clock goes on from the last accepted input, running or paused as it was.
        let now = room.session.now();
        if let Some(clock) = room.clock.as_mut() {
            *clock = WallClock::new(room.meta.speed, now);
            if !room.meta.started || room.meta.paused {
                let _ = clock.change(ClockChange::Pause, now);
            }
        }
        save_meta(&room.dir, &room.meta)?;
        room.check_end()
            .map_err(|e| format!("{}: {}", dir.display(), e.message))?;
        room.push_state();
        Ok((room, handle, rx))
    }

    fn assemble(
        session: Session,
        writer: Writer,
        dir: PathBuf,
        meta: Meta,
        inputs: usize,
    ) -> (Room, RoomHandle, mpsc::Receiver<Request>) {
        let (tx, rx) = mpsc::channel();
        let log = Arc::new(EventLog::new(meta.epoch));
        let ended = Arc::new(AtomicBool::new(false));
        let mut clock =
            (meta.clock == ClockMode::Realtime).then(|| WallClock::new(meta.speed, session.now()));
        if let Some(c) = clock.as_mut()
            && (!meta.started || meta.paused)
        {
            let _ = c.change(ClockChange::Pause, session.now());
        }
        let handle = RoomHandle {
            id: meta.id.clone(),
            title: meta.title.clone(),
            drill_name: meta.drill_name.clone(),
            roles: session.drill().roles.iter().map(|r| r.id.clone()).collect(),
            tokens: meta.tokens.clone(),
            log: log.clone(),
            dir: dir.clone(),
            ended: ended.clone(),
            tx,
        };
        let sampler = crate::export::sample::Sampler::new(session.drill());
        let no_response = score::counterfactual::no_response_buckets(&session);
        let room = Room {
            sampler,
            session,
            clock,
            writer,
            dir,
            meta,
            log,
            ended_flag: ended,
            buckets_sent: 0,
            last_alerts: String::new(),
            last_checklists: String::new(),
            last_role_checklists: BTreeMap::new(),
            inputs,
            finished: false,
            broken: None,
            history: None,
            recorded: false,
            no_response,
            debriefs: BTreeMap::new(),
        };
        (room, handle, rx)
    }

    /// The room's thread: moves the clock, answers requests, until the server drops the room.
    pub fn run(mut self, rx: &mpsc::Receiver<Request>) {
        // A room restored after its drill ended records what a kill may have interrupted.
        self.record_history();
        self.push_state();
        self.push_people();
        loop {
            let request = if self.running() {
                match rx.recv_timeout(TICK) {
                    Ok(r) => Some(r),
                    Err(mpsc::RecvTimeoutError::Timeout) => None,
                    Err(mpsc::RecvTimeoutError::Disconnected) => return,
                }
            } else {
                match rx.recv() {
                    Ok(r) => Some(r),
                    Err(_) => return,
                }
            };
            self.tick();
            if let Some(request) = request {
                self.handle(request);
            }
        }
    }

    fn running(&self) -> bool {
        self.clock.is_some()
            && self.meta.started
            && !self.meta.paused
            && !self.finished
            && self.broken.is_none()
    }

    /// Moves a running room's simulated time to where its clock stands.
    fn tick(&mut self) {
        if !self.running() {
            return;
        }
        let Some(target) = self.clock.as_ref().and_then(Clock::target) else {
            return;
        };
        if target <= self.session.now() {
            return;
        }
        let notices = self.session.advance_to(target);
        self.publish(&notices);
        if let Err(e) = self.check_end() {
            self.broken = Some(e.message);
        }
    }

    fn handle(&mut self, request: Request) {
        match request {
            Request::Command {
                role,
                person,
                line,
                reply,
            } => {
                let _ = reply.send(self.command(&role, &person, &line));
            }
            Request::Advance { to, reply } => {
                let _ = reply.send(self.advance(to));
            }
            Request::Clock { op, reply } => {
                let _ = reply.send(self.clock_op(op));
            }
            Request::Inject {
                to,
                from,
                message,
                reply,
            } => {
                let _ = reply.send(self.inject(to.as_deref(), &from, &message));
            }
            Request::Checklists { revealed, reply } => {
                let _ = reply.send(self.reveal(revealed));
            }
            Request::Join { role, name, reply } => {
                let _ = reply.send(self.join(role, &name));
            }
            Request::Debrief { format, reply } => {
                let _ = reply.send(self.debrief(format));
            }
            Request::Summary { reply } => {
                let _ = reply.send(self.summary());
            }
            Request::State { reply } => {
                let _ = reply.send(Ok(self.state()));
            }
            Request::Metrics { reply } => {
                let _ = reply.send(Ok(self.metrics()));
            }
        }
    }

    fn state(&self) -> State {
        let now = self.session.now();
        State {
            now_ns: now.nanos(),
            clock: self.session.clock_text(now),
            mode: self.meta.clock,
            running: self.running(),
            started: self.meta.started,
            speed: self.meta.speed,
            ended: self.finished,
            checklists_revealed: self.meta.checklists_revealed,
            inputs: self.inputs,
        }
    }

    fn usable(&self) -> Result<(), Refusal> {
        match &self.broken {
            Some(message) => Err(Refusal {
                kind: RefusalKind::Broken,
                message: message.clone(),
                hint: None,
            }),
            None => Ok(()),
        }
    }

    fn not_over(&self) -> Result<(), Refusal> {
        if self.finished {
            return Err(Refusal {
                kind: RefusalKind::Conflict,
                message: "the drill is over".into(),
                hint: Some("its debrief and transcript can be downloaded".into()),
            });
        }
        Ok(())
    }

    /// Writes and flushes one input; if that fails the room stops taking inputs, so that
    /// nothing acknowledged is ever missing from the transcript.
    fn record(&mut self, line: &Line) -> Result<(), Refusal> {
        match self.writer.write(line) {
            Ok(()) => {
                self.inputs += 1;
                Ok(())
            }
            Err(e) => {
                let message = format!(
                    "cannot write the room's transcript in {}: {e}; the room takes no more inputs",
                    self.dir.display()
                );
                eprintln!("firedrill serve: room {}: {message}", self.meta.id);
                self.broken = Some(message.clone());
                Err(Refusal {
                    kind: RefusalKind::Broken,
                    message,
                    hint: None,
                })
            }
        }
    }

    fn command(&mut self, role: &str, person: &str, line: &str) -> Result<CommandReply, Refusal> {
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
        let accepted = self
            .session
            .execute_as(role, input)
            .map_err(bad)?
            .ok_or_else(|| Refusal::invalid("type a command; `help` lists them"))?;
        self.record(&Line {
            at_ns: accepted.at.nanos(),
            role: accepted.role.clone(),
            input: accepted.input.clone(),
            person: Some(person.to_owned()),
            inject_from: None,
        })?;
        self.push_command(
            accepted.at,
            &accepted.role,
            person,
            &accepted.input,
            &accepted.output,
        );
        if let Some((name, params)) = action {
            self.push_action_fact(accepted.at, &name, &params);
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

    fn advance(&mut self, to: SimTime) -> Result<State, Refusal> {
        self.usable()?;
        self.not_over()?;
        if self.clock.is_some() {
            return Err(Refusal::invalid(
                "this room's clock runs by itself: pause, resume or change its speed",
            ));
        }
        if to < self.session.now() {
            return Err(Refusal::invalid(format!(
                "it is already {}; time only moves forward",
                self.session.clock_text(self.session.now())
            )));
        }
        let notices = self.session.advance_to(to);
        self.publish(&notices);
        self.check_end()?;
        self.push_state();
        Ok(self.state())
    }

    fn clock_op(&mut self, op: ClockOp) -> Result<State, Refusal> {
        self.usable()?;
        self.not_over()?;
        if op == ClockOp::End {
            let accepted = self
                .execute_as_facilitator("end", Refusal::conflict)?
                .ok_or_else(|| Refusal::conflict("the drill could not end"))?;
            self.publish(&accepted.notices);
            self.check_end()?;
            self.push_state();
            return Ok(self.state());
        }
        let now = self.session.now();
        let Some(clock) = self.clock.as_mut() else {
            return Err(Refusal::invalid(
                "this room's clock is turn-based: time moves when the facilitator advances it",
            ));
        };
        let (change, text) = match op {
            ClockOp::Start if self.meta.started => {
                return Err(Refusal::conflict("the drill has already started"));
            }
            ClockOp::Start | ClockOp::Resume => (ClockChange::Resume, "resume".to_owned()),
            ClockOp::Pause => (ClockChange::Pause, "pause".to_owned()),
            ClockOp::Speed(x) => {
                if !(crate::front::serve::MIN_SPEED..=crate::front::serve::MAX_SPEED).contains(&x) {
                    return Err(Refusal::invalid(format!(
                        "the speed must be between {} and {}, not {x}",
                        crate::front::serve::MIN_SPEED,
                        crate::front::serve::MAX_SPEED
                    )));
                }
                (ClockChange::Speed(x), format!("speed {x}"))
            }
            ClockOp::End => unreachable!("handled above"),
        };
        clock.change(change, now).map_err(Refusal::conflict)?;
        self.execute_as_facilitator(&text, Refusal::invalid)?
            .ok_or_else(|| Refusal::invalid("nothing to do"))?;
        self.apply_recorded_clock(change);
        save_meta(&self.dir, &self.meta).map_err(|m| Refusal {
            kind: RefusalKind::Broken,
            message: m,
            hint: None,
        })?;
        self.push_state();
        Ok(self.state())
    }

    /// Executes a clock command (`end`, `pause`, `speed 2`) in the facilitator's name: records
    /// it in the transcript and tells everyone, as a player's command is; a refusal of the
    /// session becomes `refused`.
    fn execute_as_facilitator(
        &mut self,
        text: &str,
        refused: fn(String) -> Refusal,
    ) -> Result<Option<crate::session::Accepted>, Refusal> {
        let role = self.session.current_role().to_owned();
        let Some(accepted) = self
            .session
            .execute_as(&role, text)
            .map_err(|e| refused(e.message))?
        else {
            return Ok(None);
        };
        self.record(&Line {
            at_ns: accepted.at.nanos(),
            role: accepted.role.clone(),
            input: accepted.input.clone(),
            person: Some(FACILITATOR.to_owned()),
            inject_from: None,
        })?;
        self.push_command(
            accepted.at,
            &accepted.role,
            FACILITATOR,
            &accepted.input,
            &accepted.output,
        );
        Ok(Some(accepted))
    }

    /// Keeps the metadata in step with a clock change the transcript records.
    fn apply_recorded_clock(&mut self, change: ClockChange) {
        match change {
            ClockChange::Pause => self.meta.paused = true,
            ClockChange::Resume => {
                self.meta.started = true;
                self.meta.paused = false;
            }
            ClockChange::Speed(x) => self.meta.speed = x,
        }
    }

    fn inject(&mut self, to: Option<&str>, from: &str, message: &str) -> Result<State, Refusal> {
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
        self.push_inject(to, from, message);
        Ok(self.state())
    }

    fn reveal(&mut self, revealed: bool) -> Result<State, Refusal> {
        self.meta.checklists_revealed = revealed;
        save_meta(&self.dir, &self.meta).map_err(|m| Refusal {
            kind: RefusalKind::Broken,
            message: m,
            hint: None,
        })?;
        self.last_role_checklists.clear();
        self.push_checklists();
        self.push_state();
        Ok(self.state())
    }

    fn join(&mut self, role: String, name: &str) -> Result<(), Refusal> {
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
            save_meta(&self.dir, &self.meta).map_err(|m| Refusal {
                kind: RefusalKind::Broken,
                message: m,
                hint: None,
            })?;
            self.push_people();
        }
        Ok(())
    }

    fn debrief(&mut self, format: report::Format) -> Result<String, Refusal> {
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

    fn summary(&self) -> Result<String, Refusal> {
        if !self.finished {
            return Err(Refusal::conflict(
                "the summary is written when the drill ends",
            ));
        }
        let summary = SessionSummary::of(&self.session);
        Ok(serde_json::to_string_pretty(&summary).expect("summaries serialise") + "\n")
    }

    fn metrics(&mut self) -> String {
        crate::telemetry::prometheus::encode_text(&self.sampler.sample(self.session.sim()))
    }

    /// When the drill has ended (by `end` or by running its course), records `end` at its end
    /// if no one did, and tells everyone.
    fn check_end(&mut self) -> Result<(), Refusal> {
        let Some(at) = self.session.ended() else {
            return Ok(());
        };
        if self.finished {
            return Ok(());
        }
        if self.session.team().first("end").is_none() {
            let role = self.session.current_role().to_owned();
            self.record(&Line {
                at_ns: at.nanos(),
                role,
                input: "end".into(),
                ..Line::default()
            })?;
        }
        self.finished = true;
        self.ended_flag.store(true, Ordering::Relaxed);
        self.record_history();
        self.push_checklists();
        self.push_end();
        self.push_state();
        Ok(())
    }

    /// Where the finished session is recorded when the room names its team.
    pub fn record_to(&mut self, store: Option<PathBuf>) {
        self.history = store;
    }

    /// Records the finished session in the history store, once, if the room names its team.
    /// Recording the same transcript again is a no-op, so a room restored after it ended
    /// records only what a kill interrupted. A failure is told to the facilitator; the room
    /// goes on (its transcript can still be added with `firedrill history add`).
    fn record_history(&mut self) {
        if self.recorded || !self.finished {
            return;
        }
        let (Some(team), Some(db)) = (self.meta.team.clone(), self.history.clone()) else {
            return;
        };
        self.recorded = true;
        let people: Vec<(String, String)> = self
            .meta
            .people
            .iter()
            .map(|p| (p.role.clone(), p.name.clone()))
            .collect();
        let played_at = crate::history::PlayedAt::from_unix_ms(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        );
        let path = self.dir.join(TRANSCRIPT);
        let outcome = crate::files::read_text_limited(&path, 64 * 1024 * 1024, "transcript")
            .and_then(|text| {
                let mut store = crate::history::Store::open(&db).map_err(|e| e.to_string())?;
                crate::history::record(&mut store, &text, &team, &people, &played_at)
                    .map_err(|e| e.to_string())
            });
        let message = match outcome {
            Ok(r) => match r.added {
                crate::history::Added::New(id) => format!(
                    "recorded as session {id} of team {} in {}",
                    shown_line(&team),
                    db.display()
                ),
                crate::history::Added::Already(id) => {
                    format!("already recorded as session {id} in {}", db.display())
                }
            },
            Err(e) => format!(
                "not recorded in {}: {e} (add it later with `firedrill history add {} --team NAME`)",
                db.display(),
                path.display()
            ),
        };
        eprintln!("firedrill serve: room {}: {message}", self.meta.id);
        self.log.push(
            Audience::Facilitator,
            "history",
            &json!({ "message": message }),
        );
    }

    // --- events ---

    fn push_state(&self) {
        self.log.push(Audience::All, "state", &self.state());
    }

    fn push_people(&self) {
        self.log.push(
            Audience::All,
            "people",
            &json!({ "people": self.meta.people }),
        );
    }

    fn push_end(&self) {
        let at = self.session.ended().unwrap_or_else(|| self.session.now());
        self.log.push(
            Audience::All,
            "end",
            &json!({ "at_ns": at.nanos(), "clock": self.session.clock_text(at) }),
        );
    }

    fn push_command(&self, at: SimTime, role: &str, person: &str, input: &str, output: &str) {
        self.log.push(
            Audience::All,
            "command",
            &json!({
                "at_ns": at.nanos(),
                "clock": self.session.clock_text(at),
                "role": role,
                "person": person,
                "input": input,
                "output": output,
            }),
        );
    }

    fn push_inject(&self, to: Option<&str>, from: &str, message: &str) {
        let at = self.session.now();
        let text = self.session.render_notice(&Notice::Inject {
            at,
            from: from.to_owned(),
            message: message.to_owned(),
        });
        let audience = to.map_or(Audience::All, |r| Audience::Role(r.to_owned()));
        self.log.push(
            audience,
            "news",
            &json!({ "at_ns": at.nanos(), "kind": "inject", "to": to, "text": text }),
        );
    }

    /// Tells the facilitator what an action does (the drill's effect, with the values the
    /// team typed), as it is ordered.
    fn push_action_fact(&self, at: SimTime, name: &str, params: &[(String, f64)]) {
        let Some(action) = self.session.drill().actions.iter().find(|a| a.name == name) else {
            return;
        };
        self.log.push(
            Audience::Facilitator,
            "fact",
            &json!({
                "at_ns": at.nanos(),
                "clock": self.session.clock_text(at),
                "text": crate::drill::describe::action(action, params),
            }),
        );
    }

    /// Turns notices into events: what the team is told for everyone, the truth (faults,
    /// recovery) for the facilitator; then new buckets, alerts and checklists.
    fn publish(&mut self, notices: &[Notice]) {
        for notice in notices {
            let at = notice.at();
            let clock = self.session.clock_text(at);
            let fact = match notice {
                Notice::System(News::FaultStarted { fault, .. }) => {
                    Some(format!("fault {fault} started"))
                }
                Notice::System(News::FaultEnded { fault, .. }) => {
                    Some(format!("fault {fault} ended"))
                }
                Notice::System(News::Recovered { .. }) => {
                    Some("the system has recovered (ground truth)".to_owned())
                }
                _ => None,
            };
            if let Some(text) = fact {
                self.log.push(
                    Audience::Facilitator,
                    "fact",
                    &json!({ "at_ns": at.nanos(), "clock": clock, "text": text }),
                );
                continue;
            }
            let text = self.session.render_notice(notice);
            if text.is_empty() {
                continue;
            }
            let kind = match notice {
                Notice::Inject { .. } => "inject",
                Notice::End { .. } => "end",
                Notice::System(_) => "system",
            };
            self.log.push(
                Audience::All,
                "news",
                &json!({ "at_ns": at.nanos(), "kind": kind, "text": text }),
            );
        }
        self.push_buckets();
        self.push_alerts();
        self.push_checklists();
    }

    /// One `telemetry` event (what the team sees) and one `truth` event (the facilitator's)
    /// per bucket closed since the last call.
    fn push_buckets(&mut self) {
        let telemetry = self.session.sim().telemetry();
        let view = TeamView::new(telemetry);
        let total = view.buckets().len();
        if total <= self.buckets_sent {
            return;
        }
        let pools = self.session.sim().pool_names();
        let steps = self.session.sim().step_names();
        let panels = &self.session.drill().dashboard;
        for b in view.buckets().iter().skip(self.buckets_sent) {
            let point = observed_point(b, pools, steps, panels);
            self.log.push(Audience::All, "telemetry", &point);
        }
        let truth = self.session.sim().truth();
        let faults: Vec<Value> = self
            .session
            .drill()
            .faults
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let started = truth.fault_started.get(i).copied().flatten();
                let ended = truth.fault_ended.get(i).copied().flatten();
                json!({
                    "fault": f.name,
                    "active": started.is_some() && ended.is_none(),
                    "started": started.map(|t| self.session.clock_text(t)),
                    "ended": ended.map(|t| self.session.clock_text(t)),
                })
            })
            .collect();
        for raw in &telemetry.buckets()[self.buckets_sent..total] {
            self.log.push(
                Audience::Facilitator,
                "truth",
                &json!({
                    "t": raw.start,
                    "wrong_answer_ratio": raw.window.wrong_answer_ratio,
                    "wrong_answers": raw.wrong_answers,
                    "faults": faults,
                    "recovered": truth.recovered.map(|t| self.session.clock_text(t)),
                }),
            );
        }
        self.buckets_sent = total;
        if let Some(last) = telemetry.buckets()[..total].last() {
            let now = SimTime::from_secs_f64(last.start + last.width);
            let team = harm_by(telemetry.buckets(), now);
            let none = harm_by(&self.no_response, now);
            self.log.push(
                Audience::Facilitator,
                "counterfactual",
                &json!({
                    "clock": self.session.clock_text(now),
                    "team": team,
                    "no_response": none,
                    "avoided": i128::from(none["harmed"].as_u64().unwrap_or(0))
                        - i128::from(team["harmed"].as_u64().unwrap_or(0)),
                }),
            );
        }
        self.push_state();
    }

    fn push_alerts(&mut self) {
        let drill = self.session.drill();
        let alerts: Vec<Value> = self
            .session
            .sim()
            .alert_states()
            .iter()
            .map(|(rule, state)| {
                json!({
                    "name": rule.name,
                    "severity": format!("{:?}", rule.severity).to_lowercase(),
                    "phase": format!("{:?}", state.phase).to_lowercase(),
                    "since": self.session.clock_text(state.since),
                    "summary": drill.alerts.iter().find(|a| a.name == rule.name).map(|a| a.summary.clone()),
                })
            })
            .collect();
        let text = serde_json::to_string(&alerts).expect("alerts serialise");
        if text != self.last_alerts {
            self.log
                .push(Audience::All, "alerts", &json!({ "alerts": alerts }));
            self.last_alerts = text;
        }
    }

    /// The checklists with their verdicts for the facilitator; for each role, if the
    /// facilitator shows them, its own tasks, done or not.
    fn push_checklists(&mut self) {
        let results = checklist::evaluate_all(
            self.session.drill(),
            self.session.sim().truth(),
            self.session.team(),
            self.session.now(),
            self.session.ended().is_some(),
        );
        let text = serde_json::to_string(&results).expect("checklists serialise");
        if text != self.last_checklists {
            self.log.push(
                Audience::Facilitator,
                "checklists",
                &json!({ "tasks": results }),
            );
            self.last_checklists = text;
        }
        for role in &self.session.drill().roles {
            let tasks: Vec<Value> = if self.meta.checklists_revealed {
                results
                    .iter()
                    .filter(|r| r.role == role.id)
                    .map(|r| {
                        json!({
                            "text": r.text,
                            "done": !matches!(
                                r.status,
                                checklist::Status::Open
                                    | checklist::Status::Overdue
                                    | checklist::Status::Missed
                            ),
                            "due": r.due_text,
                        })
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let data = json!({ "shown": self.meta.checklists_revealed, "tasks": tasks });
            let text = data.to_string();
            if self.last_role_checklists.get(&role.id) != Some(&text) {
                self.log
                    .push(Audience::Role(role.id.clone()), "checklist", &data);
                self.last_role_checklists.insert(role.id.clone(), text);
            }
        }
    }
}

/// The person name the facilitator's inputs carry.
pub const FACILITATOR: &str = "facilitator";

/// One bucket's chart values, from observable signals only: the standard series, and the
/// drill's own dashboard panels (`panel TITLE`; a panel on ground truth is left out).
fn observed_point(
    b: ObservedBucket,
    pools: &[String],
    steps: &[String],
    panels: &[crate::drill::spec::Panel],
) -> Value {
    let mut values = Map::new();
    let mut put = |name: String, signal: Signal| {
        if let Ok(o) = Observable::new(signal)
            && let Some(v) = b.value(o)
            && v.is_finite()
        {
            values.insert(name, json!(v));
        }
    };
    put("arrival_rate".into(), Signal::ArrivalRate);
    put("throughput".into(), Signal::Throughput);
    put("error_ratio".into(), Signal::ErrorRatio);
    put("rejected_rate".into(), Signal::RejectedRate);
    put("degraded_ratio".into(), Signal::DegradedRatio);
    put("latency_p50".into(), Signal::LatencyP50);
    put("latency_p99".into(), Signal::LatencyP99);
    put("in_flight".into(), Signal::InFlight);
    put("eval_ratio".into(), Signal::EvalWrongAnswerRatio);
    for (i, p) in pools.iter().enumerate() {
        put(format!("pool {p} utilization"), Signal::PoolUtilization(i));
        put(format!("pool {p} waiting"), Signal::PoolWaiting(i));
    }
    for (i, s) in steps.iter().enumerate() {
        put(format!("step {s} time"), Signal::StepTime(i));
    }
    for panel in panels {
        if let Some(signal) = Signal::resolve(&panel.metric, pools, steps) {
            put(format!("panel {}", panel.title), signal);
        }
    }
    json!({ "t": b.start(), "width": b.width(), "v": values })
}

/// Requests harmed (failed, rejected, degraded) and wrong answers in the buckets that end by
/// `now`.
fn harm_by(buckets: &[crate::telemetry::series::Bucket], now: SimTime) -> Value {
    let buckets = score::impact::within(buckets, now);
    let sum = |f: fn(&crate::telemetry::series::Bucket) -> u64| buckets.iter().map(f).sum::<u64>();
    let (failed, rejected, degraded) =
        (sum(|b| b.failed), sum(|b| b.rejected), sum(|b| b.degraded));
    json!({
        "harmed": failed + rejected + degraded,
        "failed": failed,
        "rejected": rejected,
        "degraded": degraded,
        "wrong_answers": sum(|b| b.wrong_answers),
    })
}

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
//!
//! This file owns the room's types (its metadata, requests, refusals and handle) and its
//! thread: the request loop, the realtime tick and the checks every request starts with.
//! Creating, recovering and persisting a room are in `persist`; what the room does for each
//! request in `requests`, the clock and the drill's end in `clock`, and turning what happens
//! into events and charts in `publish`.

mod clock;
mod persist;
mod publish;
mod requests;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, mpsc};
use std::time::Duration as WallDuration;

use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use super::events::EventLog;
use crate::front::terminal::{Clock, WallClock};
use crate::report;
use crate::session::Session;
use crate::session::SimTime;
use crate::session::transcript::{ClockMode, Writer};

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
    fn broken(message: impl Into<String>) -> Self {
        Refusal {
            kind: RefusalKind::Broken,
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
        let gone = || Refusal::broken("the room has stopped (see the server's output)");
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
    /// The team's Alertmanager and chat, if the server posts to them.
    notify: Option<crate::front::notify::Feed>,
}

impl Room {
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
            Some(message) => Err(Refusal::broken(message.clone())),
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
}

/// The person name the facilitator's inputs carry.
pub const FACILITATOR: &str = "facilitator";

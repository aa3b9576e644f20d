//! A room on disk: creating its directory, transcript and `room.json`, bringing it back after a
//! kill by replaying its transcript (rebuilding its events), writing and flushing each accepted
//! input before it is answered, and recording the finished session in the history store.
//!
//! It does not decide whether an input is accepted (`requests` and `clock` do) and does not
//! build events itself (`publish` does).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};

use serde_json::json;

use super::{META, Meta, Refusal, Request, Room, RoomHandle, TRANSCRIPT};
use crate::drill::Drill;
use crate::front::serve::events::{Audience, EventLog};
use crate::front::terminal::{Clock, WallClock};
use crate::sanitize::shown_line;
use crate::score;
use crate::session::transcript::{self, ClockMode, Header, Line, Transcript, Writer};
use crate::session::{Accepted, ClockChange, Session};

/// Writes `meta` whole to `dir/room.json`.
pub(super) fn save_meta(dir: &Path, meta: &Meta) -> Result<(), String> {
    let path = dir.join(META);
    crate::files::write_atomic(&path, |out| {
        serde_json::to_writer_pretty(&mut *out, meta).map_err(std::io::Error::other)?;
        out.write_all(b"\n")
    })
    .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

impl Room {
    /// Writes the room's metadata; a failure is the room's, not the request's.
    pub(super) fn save(&self) -> Result<(), Refusal> {
        save_meta(&self.dir, &self.meta).map_err(Refusal::broken)
    }

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
                room.session.note_inject(to, from, &line.input);
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
            notify: None,
        };
        (room, handle, rx)
    }

    /// Writes and flushes one input; if that fails the room stops taking inputs, so that
    /// nothing acknowledged is ever missing from the transcript.
    pub(super) fn record(&mut self, line: &Line) -> Result<(), Refusal> {
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
                Err(Refusal::broken(message))
            }
        }
    }

    /// Records an input the session accepted, in `person`'s name, and tells everyone.
    pub(super) fn record_accepted(
        &mut self,
        accepted: &Accepted,
        person: &str,
    ) -> Result<(), Refusal> {
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
        Ok(())
    }

    /// Where the finished session is recorded when the room names its team.
    pub fn record_to(&mut self, store: Option<PathBuf>) {
        self.history = store;
    }

    /// Posts the room's alerts and updates to the team's own tools from now on.
    /// (`link` is the room's page, each alert's `generatorURL`.)
    pub fn notify_to(&mut self, notifier: &crate::front::notify::Notifier, link: Option<String>) {
        let feed = crate::front::notify::Feed::new(
            notifier,
            self.session.drill(),
            "room",
            &self.meta.id,
            link,
        );
        self.notify = Some(feed);
    }

    /// Records the finished session in the history store, once, if the room names its team.
    /// Recording the same transcript again is a no-op, so a room restored after it ended
    /// records only what a kill interrupted. A failure is told to the facilitator; the room
    /// goes on (its transcript can still be added with `firedrill history add`).
    pub(super) fn record_history(&mut self) {
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
}

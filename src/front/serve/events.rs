//! A room's events: what happened in it, each with an increasing id, kept in a bounded log
//! and rendered once as server-sent-event bytes. Every stream reads the same log through an
//! [`Audience`] filter, so a player's stream is the log less what the player may not see.
//!
//! Ids are `epoch × 10⁹ + sequence`: each start of the server (each recovery of the room)
//! begins a new epoch and rebuilds the log from the transcript, so a client that comes back
//! with a `Last-Event-ID` of an older epoch is sent everything again after a `reset`.

use std::collections::VecDeque;
use std::sync::Mutex;

use axum::body::Bytes;
use serde::Serialize;
use tokio::sync::watch;

/// Who may read an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// Everyone in the room: players, the projector, the facilitator. Built only from what a
    /// real team could observe.
    All,
    /// One role's players (and the facilitator).
    Role(String),
    /// The facilitator only: the truth (faults, wrong answers as they happen, checklists).
    Facilitator,
}

/// Who is reading a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reader {
    Facilitator,
    Player(String),
    Projector,
}

impl Reader {
    #[must_use]
    pub fn may_read(&self, audience: &Audience) -> bool {
        match (self, audience) {
            (Reader::Facilitator, _) | (_, Audience::All) => true,
            (Reader::Player(role), Audience::Role(to)) => role == to,
            _ => false,
        }
    }
}

/// One event, rendered.
#[derive(Debug)]
pub struct Event {
    pub id: u64,
    pub audience: Audience,
    /// `id: ...\nevent: ...\ndata: ...\n\n`.
    pub bytes: Bytes,
}

/// The most events a room keeps; a client further behind is sent a `reset` and the log.
pub const MAX_EVENTS: usize = 20_000;

const EPOCH: u64 = 1_000_000_000;

struct Inner {
    epoch: u64,
    next: u64,
    events: VecDeque<std::sync::Arc<Event>>,
}

/// A room's event log and the signal that it grew.
pub struct EventLog {
    inner: Mutex<Inner>,
    notify: watch::Sender<u64>,
}

impl EventLog {
    #[must_use]
    pub fn new(epoch: u64) -> Self {
        EventLog {
            inner: Mutex::new(Inner {
                epoch,
                next: 1,
                events: VecDeque::new(),
            }),
            notify: watch::Sender::new(0),
        }
    }

    /// Appends an event of `kind` with `data` (serialised to JSON) for `audience`.
    pub fn push(&self, audience: Audience, kind: &str, data: &impl Serialize) {
        let json = serde_json::to_string(data).expect("events serialise");
        let id = {
            let mut inner = self.inner.lock().expect("event log lock");
            let id = inner.epoch * EPOCH + inner.next;
            inner.next += 1;
            let bytes = Bytes::from(format!("id: {id}\nevent: {kind}\ndata: {json}\n\n"));
            if inner.events.len() >= MAX_EVENTS {
                inner.events.pop_front();
            }
            inner.events.push_back(std::sync::Arc::new(Event {
                id,
                audience,
                bytes,
            }));
            id
        };
        self.notify.send_replace(id);
    }

    #[must_use]
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.notify.subscribe()
    }

    /// The events after `last` that `reader` may read, whether the client must first drop
    /// what it has (`last` is of another epoch, or older than the log keeps), and the id to
    /// read on from next time.
    #[must_use]
    pub fn since(&self, last: Option<u64>, reader: &Reader) -> (bool, Vec<Bytes>, u64) {
        let inner = self.inner.lock().expect("event log lock");
        let first = inner.events.front().map(|e| e.id);
        let reset = match (last, first) {
            (None, _) => true,
            (Some(l), _) if l / EPOCH != inner.epoch => true,
            (Some(l), Some(f)) => l + 1 < f,
            (Some(_), None) => false,
        };
        let from = if reset { 0 } else { last.unwrap_or(0) };
        let start = inner.events.partition_point(|e| e.id <= from);
        let out = inner
            .events
            .range(start..)
            .filter(|e| reader.may_read(&e.audience))
            .map(|e| e.bytes.clone())
            .collect();
        let upto = inner
            .events
            .back()
            .map_or(inner.epoch * EPOCH, |e| e.id.max(from));
        (reset, out, upto)
    }

    /// The id of the newest event (0 if none).
    #[must_use]
    pub fn last_id(&self) -> u64 {
        *self.notify.borrow()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_player_reads_only_events_for_everyone_and_their_role() {
        let log = EventLog::new(1);
        log.push(Audience::All, "news", &"all");
        log.push(Audience::Facilitator, "truth", &"secret");
        log.push(Audience::Role("ops".into()), "news", &"to ops");
        log.push(Audience::Role("ic".into()), "news", &"to ic");
        let text = |reader: Reader| {
            let (_, events, _) = log.since(None, &reader);
            events
                .iter()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .collect::<String>()
        };
        let ops = text(Reader::Player("ops".into()));
        assert!(ops.contains("\"all\"") && ops.contains("to ops"), "{ops}");
        assert!(!ops.contains("secret") && !ops.contains("to ic"), "{ops}");
        let projector = text(Reader::Projector);
        assert!(projector.contains("\"all\"") && !projector.contains("to ops"));
        let facilitator = text(Reader::Facilitator);
        assert!(facilitator.contains("secret") && facilitator.contains("to ic"));
    }

    #[test]
    fn a_client_of_an_older_epoch_starts_again_and_a_current_one_resumes() {
        let log = EventLog::new(2);
        log.push(Audience::All, "a", &1);
        log.push(Audience::All, "b", &2);
        let (reset, all, _) = log.since(Some(EPOCH + 7), &Reader::Projector);
        assert!(reset);
        assert_eq!(all.len(), 2);
        let (reset, rest, upto) = log.since(Some(2 * EPOCH + 1), &Reader::Projector);
        assert_eq!(upto, 2 * EPOCH + 2);
        assert!(!reset);
        assert_eq!(rest.len(), 1);
        assert!(String::from_utf8_lossy(&rest[0]).contains("event: b"));
    }
}

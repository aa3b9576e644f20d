//! The agenda's entries: what an event asks the engine to do ([`Kind`]) and the 16-byte
//! [`Entry`] that orders it by time, then by the order it was scheduled. The heap that holds
//! them is [`crate::sim::agenda`]; scheduling and the loop that pops them are in
//! [`super::Core`] (`schedule`, `run_hot`).

use std::cmp::Ordering;

use crate::sim::SimTime;

/// What an agenda entry asks the engine to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The planned candidate arrival (there is one at a time, kept beside the heap).
    Arrival,
    /// The request in `slot` finishes its current step. (A running request leaves its slot
    /// only when its step is done, so these are never stale and need no generation.)
    StepDone {
        slot: u32,
    },
    /// Pool `pool`'s timer: waiters at the head of its queue whose acquire timeout has
    /// passed give up. Stale when the pool's timer was re-armed since (the pool keeps the
    /// sequence number of the entry it armed).
    AcquireTimeout {
        pool: u16,
    },
    /// The end of a metric bucket: periodic work runs.
    Tick,
    /// A fault begins or ends.
    FaultStart(u16),
    FaultEnd(u16),
    /// A team action's effect lands.
    ActionLands(u32),
    /// An effect with an end stops (a restart's dip).
    EffectExpires,
    /// The warm-up ends: the time-weighted levels mark where the measured period starts.
    WarmupEnds,
    /// A client retries: entry `0` of the pending retries (kept aside so that every agenda
    /// entry stays small).
    Retry(u32),
    /// Pool `pool`'s autoscaler: growth due becomes ready, a decision due is taken (only
    /// pools with an autoscaler have these).
    Autoscale {
        pool: u16,
    },
    /// The request in `slot` calls its current step again after a failed call's backoff
    /// (it stays in its slot while it backs off, so these are never stale).
    StepRetry {
        slot: u32,
    },
}

impl Kind {
    /// Whether the ECS world (not just this resource) must handle it.
    pub(super) fn is_world_level(self) -> bool {
        matches!(
            self,
            Kind::Tick
                | Kind::FaultStart(_)
                | Kind::FaultEnd(_)
                | Kind::ActionLands(_)
                | Kind::EffectExpires
        )
    }
}

impl Kind {
    /// Bits of an entry's code that hold the kind; the payload is above them.
    const TAG_BITS: u32 = 4;

    /// The kind and its payload in 32 bits (payloads are indices below 2²⁸).
    fn encode(self) -> u32 {
        let (tag, payload) = match self {
            Kind::Arrival => (0, 0),
            Kind::StepDone { slot } => (1, slot),
            Kind::AcquireTimeout { pool } => (2, u32::from(pool)),
            Kind::Tick => (3, 0),
            Kind::FaultStart(i) => (4, u32::from(i)),
            Kind::FaultEnd(i) => (5, u32::from(i)),
            Kind::ActionLands(i) => (6, i),
            Kind::EffectExpires => (7, 0),
            Kind::Retry(i) => (8, i),
            Kind::WarmupEnds => (9, 0),
            Kind::Autoscale { pool } => (10, u32::from(pool)),
            Kind::StepRetry { slot } => (11, slot),
        };
        assert!(
            payload < 1 << (32 - Self::TAG_BITS),
            "agenda payload {payload} out of range"
        );
        payload << Self::TAG_BITS | tag
    }

    fn decode(code: u32) -> Kind {
        let payload = code >> Self::TAG_BITS;
        match code & ((1 << Self::TAG_BITS) - 1) {
            0 => Kind::Arrival,
            1 => Kind::StepDone { slot: payload },
            2 => Kind::AcquireTimeout {
                pool: payload as u16,
            },
            3 => Kind::Tick,
            4 => Kind::FaultStart(payload as u16),
            5 => Kind::FaultEnd(payload as u16),
            6 => Kind::ActionLands(payload),
            7 => Kind::EffectExpires,
            8 => Kind::Retry(payload),
            10 => Kind::Autoscale {
                pool: payload as u16,
            },
            11 => Kind::StepRetry { slot: payload },
            _ => Kind::WarmupEnds,
        }
    }
}

/// An agenda entry: 16 bytes, ordered by time, then by the order it was scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Entry {
    pub(super) time: u64,
    /// The sequence number in the high half, the encoded [`Kind`] in the low half, so that
    /// (`time`, `tag`) compares as one 128-bit integer, by time and then by sequence. The
    /// sequence number wraps after 2³² events: it only orders events at the very same
    /// nanosecond (and names a pool's armed timer, which never waits in the agenda through
    /// 2³² others).
    pub(super) tag: u64,
}

impl Entry {
    /// The empty arrival slot: later than any event.
    pub(super) const NO_ARRIVAL: Entry = Entry {
        time: u64::MAX,
        tag: u64::MAX,
    };

    pub(super) fn new(time: SimTime, seq: u32, kind: Kind) -> Self {
        Entry {
            time: time.nanos(),
            tag: u64::from(seq) << 32 | u64::from(kind.encode()),
        }
    }

    pub(super) fn time(&self) -> SimTime {
        SimTime::from_nanos(self.time)
    }

    pub(super) fn seq(&self) -> u32 {
        (self.tag >> 32) as u32
    }

    pub(super) fn kind(&self) -> Kind {
        Kind::decode(self.tag as u32)
    }

    fn key(&self) -> u128 {
        u128::from(self.time) << 64 | u128::from(self.tag)
    }
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

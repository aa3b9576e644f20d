//! Simulated time: integer nanoseconds since the start of the drill.
//!
//! The engine ([`crate::sim`]) never reads the wall clock; every instant it knows is a
//! [`SimTime`]. It lives here, beside [`Duration`], so that the passive layers (the drill and
//! [`crate::telemetry`]) can name instants too; [`crate::sim::SimTime`] is the same type.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::drill::Duration;

/// An instant in simulated time, in nanoseconds from the start of the drill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SimTime(u64);

impl SimTime {
    pub const ZERO: SimTime = SimTime(0);
    pub const MAX: SimTime = SimTime(u64::MAX);

    #[must_use]
    pub const fn from_nanos(nanos: u64) -> Self {
        SimTime(nanos)
    }

    #[must_use]
    pub fn from_secs_f64(secs: f64) -> Self {
        SimTime(Duration::from_secs_f64(secs).as_nanos())
    }

    #[must_use]
    pub const fn nanos(self) -> u64 {
        self.0
    }

    #[must_use]
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// The span from the start of the drill to this instant.
    #[must_use]
    pub const fn since_start(self) -> Duration {
        Duration::from_nanos(self.0)
    }

    #[must_use]
    pub const fn after(self, d: Duration) -> SimTime {
        SimTime(self.0.saturating_add(d.as_nanos()))
    }

    /// `self - earlier`, or zero if `earlier` is later.
    #[must_use]
    pub const fn since(self, earlier: SimTime) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

impl From<Duration> for SimTime {
    fn from(d: Duration) -> Self {
        SimTime(d.as_nanos())
    }
}

impl fmt::Display for SimTime {
    /// `T+1h02m03s`-style offsets from the start, to the second.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0 / 1_000_000_000;
        write!(f, "T+{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
    }
}

impl Serialize for SimTime {
    /// Seconds from the start, as a number.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.as_secs_f64())
    }
}

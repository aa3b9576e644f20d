//! News: what the team would notice, in the order it happened (alerts pending, firing and
//! resolved, faults starting and ending, actions landing, recovery). The tick's systems write
//! it as bevy messages and [`super::Sim`] collects it; what a front-end shows of it is the
//! session's business.

use bevy_ecs::prelude::*;
use serde::Serialize;

use crate::drill::spec::Severity;
use crate::sim::SimTime;

/// Something the team would notice, in the order it happened.
#[derive(Message, Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum News {
    AlertPending {
        at: SimTime,
        alert: String,
        value: f64,
    },
    AlertFiring {
        at: SimTime,
        alert: String,
        value: f64,
        severity: Severity,
    },
    AlertResolved {
        at: SimTime,
        alert: String,
        value: f64,
    },
    FaultStarted {
        at: SimTime,
        fault: String,
    },
    FaultEnded {
        at: SimTime,
        fault: String,
    },
    ActionLanded {
        at: SimTime,
        action: String,
    },
    Recovered {
        at: SimTime,
    },
}

impl News {
    #[must_use]
    pub fn at(&self) -> SimTime {
        match self {
            News::AlertPending { at, .. }
            | News::AlertFiring { at, .. }
            | News::AlertResolved { at, .. }
            | News::FaultStarted { at, .. }
            | News::FaultEnded { at, .. }
            | News::ActionLanded { at, .. }
            | News::Recovered { at } => *at,
        }
    }
}

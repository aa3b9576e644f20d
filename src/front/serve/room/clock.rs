//! A room's clock: advancing a turn-based room, the facilitator's start, pause, resume, speed
//! and end (recorded in the transcript in the facilitator's name, as a player's command is),
//! and the drill's end, recorded once however it came.
//!
//! It does not tick a realtime clock (the room's thread does) and does not build events itself
//! (`publish` does).

use std::sync::atomic::Ordering;

use super::{ClockOp, FACILITATOR, Refusal, Room, State};
use crate::front::terminal::Clock;
use crate::session::ClockChange;
use crate::session::SimTime;
use crate::session::transcript::Line;

impl Room {
    pub(super) fn advance(&mut self, to: SimTime) -> Result<State, Refusal> {
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

    pub(super) fn clock_op(&mut self, op: ClockOp) -> Result<State, Refusal> {
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
        self.save()?;
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
        self.record_accepted(&accepted, FACILITATOR)?;
        Ok(Some(accepted))
    }

    /// Keeps the metadata in step with a clock change the transcript records.
    pub(super) fn apply_recorded_clock(&mut self, change: ClockChange) {
        match change {
            ClockChange::Pause => self.meta.paused = true,
            ClockChange::Resume => {
                self.meta.started = true;
                self.meta.paused = false;
            }
            ClockChange::Speed(x) => self.meta.speed = x,
        }
    }

    /// When the drill has ended (by `end` or by running its course), records `end` at its end
    /// if no one did, and tells everyone.
    pub(super) fn check_end(&mut self) -> Result<(), Refusal> {
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
}

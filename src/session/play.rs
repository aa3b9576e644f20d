//! A scripted team: plays a list of `Say(at, role, input)` lines — the drill's reference
//! response or any other — through a session, each at the moment its anchor resolves.
//! Used by `firedrill play`, by tests, and by the counterfactual runs of scoring.

use super::{Accepted, Notice, Session};
use crate::drill::spec::Say;
use crate::session::anchor;
use crate::session::command::CommandError;

/// What happened as the script played, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Notices(Vec<Notice>),
    Accepted(Accepted),
    /// A scripted line the session refused (it changed nothing).
    Refused {
        /// The line's index in the script.
        index: usize,
        role: String,
        input: String,
        error: CommandError,
    },
}

/// Plays `says` to the end of the drill, reporting every step to `sink`. Returns the
/// indices of lines that never played because their anchor never happened.
pub fn play(
    session: &mut Session,
    says: &[Say],
    sink: &mut dyn FnMut(&Session, Step),
) -> Vec<usize> {
    let mut played = vec![false; says.len()];
    loop {
        // Every line that is due now, in order of due time, then script order.
        loop {
            let now = session.now();
            let due = says
                .iter()
                .enumerate()
                .filter(|(i, _)| !played[*i])
                .filter_map(|(i, s)| {
                    anchor::resolve(
                        &s.at,
                        session.drill(),
                        session.sim().truth(),
                        session.team(),
                    )
                    .map(|t| (t, i))
                })
                .filter(|(t, _)| *t <= now)
                .min();
            let Some((_, i)) = due else { break };
            played[i] = true;
            let say = &says[i];
            match session.execute_as(&say.role, &say.input) {
                Ok(Some(accepted)) => sink(session, Step::Accepted(accepted)),
                Ok(None) => {}
                Err(error) => sink(
                    session,
                    Step::Refused {
                        index: i,
                        role: say.role.clone(),
                        input: say.input.clone(),
                        error,
                    },
                ),
            }
        }
        if session.ended().is_some() {
            break;
        }
        let now = session.now();
        let next_due = says
            .iter()
            .enumerate()
            .filter(|(i, _)| !played[*i])
            .filter_map(|(_, s)| {
                anchor::resolve(
                    &s.at,
                    session.drill(),
                    session.sim().truth(),
                    session.team(),
                )
            })
            .filter(|t| *t > now)
            .min();
        let step = now.after(session.sim().telemetry().bucket_width);
        let target = next_due.map_or(step, |d| d.min(step));
        let notices = session.advance_to(target);
        if !notices.is_empty() {
            sink(session, Step::Notices(notices));
        }
    }
    played
        .iter()
        .enumerate()
        .filter(|(_, p)| !**p)
        .map(|(i, _)| i)
        .collect()
}

//! Scoring a response against the drill: each role's checklist ([`checklist`]), the key
//! moments and intervals ([`timings`]), what users went through ([`impact`]), what would have
//! happened otherwise ([`counterfactual`]), the outcome part of the score against it
//! ([`outcome`]), the drill's own dashboard panels over the run ([`panels`]), and all of it gathered for the retrospective ([`debrief`]).
//!
//! Scoring reads the engine's ground truth and the team's log. Only [`counterfactual`] runs
//! simulations (the same drill and seed with no team, and with the reference response).

pub mod changed;
pub mod counterfactual;
pub mod debrief;
pub mod impact;
pub mod outcome;
pub mod panels;
pub mod timings;

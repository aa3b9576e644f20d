//! The front-ends: everything that lets people (or their tools) reach a session. The live
//! terminal ([`terminal`]), the war room in the browser ([`serve`]) and the `/metrics` endpoint
//! ([`metrics_server`]), with the HTTP stack the last two share ([`http`]), and the drill's
//! alerts and updates posted to the team's own Alertmanager and chat ([`notify`]).
//!
//! Each drives a [`crate::session::Session`] with "advance to t" and "execute this line as this
//! role" and has no rules of its own, so what a team does through any of them replays the same.
//! This is the only layer that does I/O on a session's behalf: the game below it never imports
//! anything here (`tests/firedrill/layers.rs` keeps that so).

pub mod http;
pub mod metrics_server;
pub mod notify;
pub mod serve;
pub mod terminal;

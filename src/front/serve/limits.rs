//! How much the server takes at most, whatever its clients do: the [`Limits`] it is started
//! with, and their keeping (rooms at once, a person's commands as a token bucket, open event
//! streams over the server and in one room, released when a client goes).
//!
//! It does not say who is asking (`auth` does) and does not cap sizes of requests (the router's
//! layers and the room do).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::http::StatusCode;

use super::AppState;
use super::error::ApiError;

/// How much the server holds at most, whatever its clients do.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Rooms at once (ended rooms count until the server restarts without them).
    pub max_rooms: usize,
    /// Open event streams, over all rooms.
    pub max_streams: usize,
    /// Open event streams in one room.
    pub max_room_streams: usize,
    /// Commands one person may send: a burst of this many ...
    pub command_burst: f64,
    /// ... refilled at this many a second.
    pub command_rate: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_rooms: 200,
            max_streams: 2000,
            max_room_streams: 64,
            command_burst: 30.0,
            command_rate: 3.0,
        }
    }
}

/// Takes one token from `key`'s bucket, or says how long to wait.
pub(super) fn rate_limit(state: &AppState, key: &str) -> Result<(), ApiError> {
    let limits = state.limits;
    let mut rate = state.rate.lock().expect("rate lock");
    let now = Instant::now();
    let (tokens, last) = rate
        .entry(key.to_owned())
        .or_insert((limits.command_burst, now));
    *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * limits.command_rate)
        .min(limits.command_burst);
    *last = now;
    if *tokens < 1.0 {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "too many commands: at most {} a second after a burst of {}",
                limits.command_rate, limits.command_burst
            ),
        )
        .hint("wait a moment and send it again"));
    }
    *tokens -= 1.0;
    Ok(())
}

/// Releases a stream's place in the counts when the client goes.
pub(super) struct StreamGuard {
    state: Arc<AppState>,
    room: String,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.state.streams.fetch_sub(1, Ordering::Relaxed);
        if let Ok(mut per) = self.state.room_streams.lock()
            && let Some(n) = per.get_mut(&self.room)
        {
            *n = n.saturating_sub(1);
        }
    }
}

pub(super) fn open_stream(state: &Arc<AppState>, room: &str) -> Result<StreamGuard, ApiError> {
    let limits = state.limits;
    let mut per = state.room_streams.lock().expect("streams lock");
    let n = per.entry(room.to_owned()).or_insert(0);
    if *n >= limits.max_room_streams {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "this room has {} open streams, the most it takes; close a tab and reload",
                limits.max_room_streams
            ),
        ));
    }
    if state.streams.load(Ordering::Relaxed) >= limits.max_streams {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "the server has {} open streams, the most it takes; try again shortly",
                limits.max_streams
            ),
        ));
    }
    *n += 1;
    state.streams.fetch_add(1, Ordering::Relaxed);
    Ok(StreamGuard {
        state: state.clone(),
        room: room.to_owned(),
    })
}

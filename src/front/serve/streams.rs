//! A room's event stream (`/api/rooms/{id}/events`): server-sent events from the room's event
//! log through the bearer's audience filter, resumed after `Last-Event-ID` (or reset when that
//! is gone), with a keep-alive comment every 15 quiet seconds.
//!
//! It does not decide what an audience may see (the event log's filter does) and does not count
//! streams itself (`limits` does).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration as WallDuration;

use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::auth::{TokenQuery, in_room};
use super::error::ApiError;
use super::events::Reader;
use super::limits::{StreamGuard, open_stream};
use super::room::RoomHandle;

struct StreamState {
    handle: Arc<RoomHandle>,
    rx: tokio::sync::watch::Receiver<u64>,
    reader: Reader,
    last: Option<u64>,
    pending: VecDeque<Bytes>,
    _guard: StreamGuard,
}

const RESET: &[u8] = b"event: reset\ndata: {}\n\n";
const KEEP_ALIVE: &[u8] = b": keep-alive\n\n";

pub(super) async fn events_stream(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
) -> Result<Response, ApiError> {
    let (_, reader, handle) = in_room(&state, &headers, &query, &id)?;
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let guard = open_stream(&state, &id)?;
    let rx = handle.log.subscribe();
    let start = StreamState {
        handle,
        rx,
        reader,
        last,
        pending: VecDeque::new(),
        _guard: guard,
    };
    let stream = futures_util::stream::unfold(start, |mut st| async move {
        loop {
            if let Some(bytes) = st.pending.pop_front() {
                return Some((Ok::<Bytes, Infallible>(bytes), st));
            }
            st.rx.borrow_and_update();
            let (reset, events, upto) = st.handle.log.since(st.last, &st.reader);
            st.last = Some(upto);
            if reset {
                st.pending.push_back(Bytes::from_static(RESET));
            }
            st.pending.extend(events);
            if !st.pending.is_empty() {
                continue;
            }
            match tokio::time::timeout(WallDuration::from_secs(15), st.rx.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return None,
                Err(_) => return Some((Ok(Bytes::from_static(KEEP_ALIVE)), st)),
            }
        }
    });
    Ok((
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

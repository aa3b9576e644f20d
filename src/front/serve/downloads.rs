//! What can be taken away from a room: its transcript (to the facilitator at any time, to the
//! others once the drill ends), the debrief (HTML, JSON or Markdown), the end-of-session
//! summary and the room's metrics in Prometheus text.
//!
//! It does not render any of them: the room's thread does, from its session.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::auth::{TokenQuery, in_room};
use super::error::ApiError;
use super::events::Reader;
use super::room::Request;
use super::{AppState, assets};

pub(super) async fn transcript(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
) -> Result<Response, ApiError> {
    let (_, reader, handle) = in_room(&state, &headers, &query, &id)?;
    if reader != Reader::Facilitator && !handle.ended.load(Ordering::Relaxed) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "the transcript can be downloaded when the drill ends",
        ));
    }
    let path = handle.transcript_path();
    let bytes = tokio::task::spawn_blocking(move || {
        crate::files::read_limited(&path, crate::files::MAX_TRANSCRIPT_BYTES, "transcript")
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?
    .map_err(ApiError::internal)?;
    let name = format!(
        "attachment; filename=\"{}-{}.jsonl\"",
        safe_name(&handle.drill_name),
        handle.id
    );
    Ok((
        [
            (header::CONTENT_TYPE, "application/jsonl".to_owned()),
            (header::CONTENT_DISPOSITION, name),
        ],
        bytes,
    )
        .into_response())
}

/// A name fit for a file name in a header.
pub(super) fn safe_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(60)
        .collect()
}

pub(super) async fn debrief(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
) -> Result<Response, ApiError> {
    let (_, _, handle) = in_room(&state, &headers, &query, &id)?;
    let format = match query.format.as_deref().unwrap_or("html") {
        "html" => crate::report::Format::Html,
        "json" => crate::report::Format::Json,
        "md" | "markdown" => crate::report::Format::Markdown,
        other => {
            return Err(ApiError::bad(format!(
                "unknown format `{}`: html, json or md",
                crate::sanitize::shown(other)
            )));
        }
    };
    let text = handle
        .call(|reply| Request::Debrief { format, reply })
        .await?;
    let content_type = match format {
        crate::report::Format::Html => "text/html; charset=utf-8",
        crate::report::Format::Json => "application/json",
        crate::report::Format::Markdown => "text/markdown; charset=utf-8",
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            // The debrief is one self-contained page: inline style, no script at all.
            (header::CONTENT_SECURITY_POLICY, assets::DEBRIEF_CSP),
        ],
        text,
    )
        .into_response())
}

pub(super) async fn summary(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
) -> Result<Response, ApiError> {
    let (_, _, handle) = in_room(&state, &headers, &query, &id)?;
    let text = handle.call(|reply| Request::Summary { reply }).await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], text).into_response())
}

pub(super) async fn metrics(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
    method: Method,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
) -> Result<Response, ApiError> {
    let (_, _, handle) = in_room(&state, &headers, &query, &id)?;
    let text = handle.call(|reply| Request::Metrics { reply }).await?;
    let body = if method == Method::HEAD {
        String::new()
    } else {
        text
    };
    Ok((
        [(
            header::CONTENT_TYPE,
            crate::telemetry::prometheus::TEXT_CONTENT_TYPE,
        )],
        body,
    )
        .into_response())
}

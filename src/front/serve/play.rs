//! Playing in a room: its state, a player joining their role, a player's command (rate
//! limited), and the facilitator's controls (the clock, advancing a turn-based room, injects,
//! revealing the checklists). Each handler checks who is asking and hands the room a request.
//!
//! It does not carry out anything itself: the room's thread does, under the session's rules.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use super::auth::{TokenQuery, facilitator_posting, in_room, player_posting};
use super::error::ApiError;
use super::limits::rate_limit;
use super::room::{self, ClockOp, Request};
use crate::drill;
use crate::session::SimTime;

pub(super) async fn room_state(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
) -> Result<Json<room::State>, ApiError> {
    let (_, _, handle) = in_room(&state, &headers, &query, &id)?;
    Ok(Json(handle.call(|reply| Request::State { reply }).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct JoinBody {
    name: String,
}

pub(super) async fn join(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
    Json(body): Json<JoinBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (_, role, handle) = player_posting(
        &state,
        &headers,
        &query,
        &id,
        "only a role's link joins a room",
    )?;
    let name = body.name.clone();
    handle
        .call(|reply| Request::Join {
            role: role.clone(),
            name,
            reply,
        })
        .await?;
    Ok(Json(json!({ "role": role, "name": body.name.trim() })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CommandBody {
    name: String,
    line: String,
}

pub(super) async fn command(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
    Json(body): Json<CommandBody>,
) -> Result<Json<room::CommandReply>, ApiError> {
    let (token, role, handle) = player_posting(
        &state,
        &headers,
        &query,
        &id,
        "commands come from a role's link (the facilitator uses the controls)",
    )?;
    if body.line.len() > room::MAX_COMMAND {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("a command is at most {} bytes", room::MAX_COMMAND),
        ));
    }
    rate_limit(&state, &format!("{token}\n{}", body.name))?;
    let reply = handle
        .call(|reply| Request::Command {
            role,
            person: body.name,
            line: body.line,
            reply,
        })
        .await?;
    Ok(Json(reply))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ControlBody {
    /// start, pause, resume, speed, end, or advance (a turn-based room).
    op: String,
    speed: Option<f64>,
    /// For advance: the simulated time to move to, in nanoseconds from the start ...
    to_ns: Option<u64>,
    /// ... or a duration to move by (`5m`).
    by: Option<String>,
}

pub(super) async fn control(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
    Json(body): Json<ControlBody>,
) -> Result<Json<room::State>, ApiError> {
    let handle = facilitator_posting(&state, &headers, &query, &id)?;
    let op = match body.op.as_str() {
        "start" => ClockOp::Start,
        "pause" => ClockOp::Pause,
        "resume" => ClockOp::Resume,
        "end" => ClockOp::End,
        "speed" => ClockOp::Speed(body.speed.ok_or_else(|| {
            ApiError::bad("`speed` needs a value: {\"op\":\"speed\",\"speed\":2}")
        })?),
        "advance" => {
            let now = handle.call(|reply| Request::State { reply }).await?;
            let to = match (body.to_ns, &body.by) {
                (Some(ns), None) => SimTime::from_nanos(ns),
                (None, Some(by)) => {
                    let d = drill::Duration::parse(by).map_err(|e| {
                        ApiError::bad(format!("`by`: {e}"))
                            .hint(crate::drill::duration::DurationError::hint())
                    })?;
                    SimTime::from_nanos(now.now_ns).after(d)
                }
                _ => return Err(ApiError::bad("advance needs `to_ns` or `by` (e.g. \"5m\")")),
            };
            return Ok(Json(
                handle.call(|reply| Request::Advance { to, reply }).await?,
            ));
        }
        other => {
            return Err(ApiError::bad(format!(
                "unknown control `{}`",
                crate::sanitize::shown(other)
            ))
            .hint("start, pause, resume, speed, end or advance"));
        }
    };
    Ok(Json(
        handle.call(|reply| Request::Clock { op, reply }).await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct InjectBody {
    /// A role, or none for everyone.
    to: Option<String>,
    from: String,
    message: String,
}

pub(super) async fn inject(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
    Json(body): Json<InjectBody>,
) -> Result<Json<room::State>, ApiError> {
    let handle = facilitator_posting(&state, &headers, &query, &id)?;
    let to = body.to.filter(|t| !t.is_empty() && t != "all");
    Ok(Json(
        handle
            .call(|reply| Request::Inject {
                to,
                from: body.from,
                message: body.message,
                reply,
            })
            .await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ChecklistsBody {
    revealed: bool,
}

pub(super) async fn checklists(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
    Json(body): Json<ChecklistsBody>,
) -> Result<Json<room::State>, ApiError> {
    let handle = facilitator_posting(&state, &headers, &query, &id)?;
    Ok(Json(
        handle
            .call(|reply| Request::Checklists {
                revealed: body.revealed,
                reply,
            })
            .await?,
    ))
}

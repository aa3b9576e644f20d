//! The lobby: what a link's bearer is (`/api/me`, with the facilitator's links), the drill
//! library and the rooms for the server's facilitator, and opening a room from a library drill
//! or an uploaded one.
//!
//! It does not play in a room (`play` does) and does not check a drill itself: loading does,
//! as `firedrill check` does.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::auth::{Access, TokenQuery, admin_only, check_csrf, csrf, room, secret, who};
use super::error::ApiError;
use super::room::{Meta, Room, RoomHandle, Tokens};
use super::{AppState, MAX_SPEED, MIN_SPEED, register};
use crate::drill;
use crate::session::transcript::ClockMode;

pub(super) async fn me(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (token, access) = who(&state, &headers, &query)?;
    let csrf = csrf(&token);
    let (room_id, kind, role) = match &access {
        Access::Admin => return Ok(Json(json!({ "access": "admin", "csrf": csrf }))),
        Access::Facilitator(r) => (r.clone(), "facilitator", None),
        Access::Player(r, role) => (r.clone(), "player", Some(role.clone())),
        Access::Projector(r) => (r.clone(), "projector", None),
    };
    let handle = room(&state, &room_id)?;
    let drill = lookup_drill(&state, &handle.drill_name);
    let mut body = json!({
        "access": kind,
        "csrf": csrf,
        "room": room_id,
        "role": role,
        "title": handle.title,
        "roles": handle.roles,
        "commands": drill.as_ref().map(crate::session::command::command_names),
        "alerts": drill.as_ref().map(|d| d.alerts.iter().map(|a| a.name.clone()).collect::<Vec<_>>()),
    });
    if kind == "facilitator" {
        body["links"] = links(&handle);
    }
    Ok(Json(body))
}

/// The drill of a library name, for completion lists (an uploaded drill has none).
fn lookup_drill(state: &AppState, name: &str) -> Option<drill::Drill> {
    let (_, text) = state.library.iter().find(|(n, _)| n == name)?;
    drill::load_str(name, text).ok()
}

fn links(handle: &RoomHandle) -> serde_json::Value {
    let link = |t: &str| format!("/room/{}#t={t}", handle.id);
    let roles: BTreeMap<&String, String> = handle
        .tokens
        .roles
        .iter()
        .map(|(r, t)| (r, link(t)))
        .collect();
    json!({
        "facilitator": link(&handle.tokens.facilitator),
        "projector": link(&handle.tokens.projector),
        "roles": roles,
    })
}

pub(super) async fn library_list(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    admin_only(&state, &headers, &query)?;
    let drills: Vec<serde_json::Value> = state
        .library
        .iter()
        .map(|(name, text)| {
            let title = drill::load_str(name, text)
                .map(|d| d.title)
                .unwrap_or_default();
            json!({ "name": name, "title": title })
        })
        .collect();
    Ok(Json(json!({ "drills": drills })))
}

pub(super) async fn rooms_list(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    admin_only(&state, &headers, &query)?;
    let rooms: Vec<serde_json::Value> = state
        .rooms
        .read()
        .expect("rooms lock")
        .values()
        .map(|h| {
            json!({
                "id": h.id,
                "title": h.title,
                "drill": h.drill_name,
                "ended": h.ended.load(Ordering::Relaxed),
                "links": links(h),
            })
        })
        .collect();
    Ok(Json(json!({ "rooms": rooms })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateRoom {
    /// A drill of the library, by name ...
    drill: Option<String>,
    /// ... or a drill's text, checked as `firedrill check` does.
    drill_text: Option<String>,
    seed: Option<u64>,
    speed: Option<f64>,
    clock: Option<ClockMode>,
    /// The team playing: when given, the finished session goes into the history store.
    team: Option<String>,
}

pub(super) async fn create_room(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
    Json(body): Json<CreateRoom>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let token = admin_only(&state, &headers, &query)?;
    check_csrf(&headers, &token)?;
    if state.rooms.read().expect("rooms lock").len() >= state.limits.max_rooms {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "this server already holds {} room(s), its limit (--max-rooms)",
                state.limits.max_rooms
            ),
        )
        .hint("start another server with its own --data, or remove ended rooms from --data/rooms while it is stopped"));
    }
    let speed = body.speed.unwrap_or(1.0);
    if !(MIN_SPEED..=MAX_SPEED).contains(&speed) {
        return Err(ApiError::bad(format!(
            "the speed must be between {MIN_SPEED} and {MAX_SPEED}, not {speed}"
        )));
    }
    let (name, text) = match (&body.drill, &body.drill_text) {
        (Some(name), None) => state
            .library
            .iter()
            .find(|(n, _)| n == name)
            .cloned()
            .ok_or_else(|| {
                let known: Vec<&str> = state.library.iter().map(|(n, _)| n.as_str()).collect();
                ApiError::bad(format!("no drill `{}` here", crate::sanitize::shown(name)))
                    .hint(format!("the drills: {}", known.join(", ")))
            })?,
        (None, Some(text)) => ("uploaded drill".to_owned(), text.clone()),
        _ => {
            return Err(ApiError::bad(
                "give either `drill` (a name from the library) or `drill_text` (a drill's RON text)",
            ));
        }
    };
    let clock = body.clock.unwrap_or(ClockMode::Realtime);
    let seed = body.seed;
    if let Some(team) = &body.team {
        crate::history::check_name("team", team).map_err(ApiError::bad)?;
    }
    let state2 = state.clone();
    let handle = tokio::task::spawn_blocking(move || -> Result<Arc<RoomHandle>, ApiError> {
        let drill = drill::load_str(&name, &text).map_err(|e| {
            ApiError::bad(format!("the drill does not load:\n{}", e.plain()))
                .hint("fix the problems listed (`firedrill check` shows the same)")
        })?;
        let id = secret()[..12].to_owned();
        let tokens = Tokens {
            facilitator: secret(),
            projector: secret(),
            roles: drill
                .roles
                .iter()
                .map(|r| (r.id.clone(), secret()))
                .collect(),
        };
        let meta = Meta {
            id: id.clone(),
            drill_name: if body.drill.is_some() {
                name.clone()
            } else {
                drill.name.clone()
            },
            title: drill.title.clone(),
            seed: seed.unwrap_or(drill.seed),
            clock,
            speed,
            started: false,
            paused: false,
            checklists_revealed: false,
            people: Vec::new(),
            tokens,
            epoch: 1,
            team: body.team.clone(),
        };
        let dir = state2.data.join("rooms").join(&id);
        let (room, handle, rx) =
            Room::create(dir, &text, drill, meta).map_err(ApiError::internal)?;
        Ok(register(&state2, room, handle, rx))
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))??;
    Ok(Json(json!({
        "id": handle.id,
        "title": handle.title,
        "tokens": handle.tokens,
        "links": links(&handle),
    })))
}

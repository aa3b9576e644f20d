//! Who is asking: the tokens a room's links carry (and the server's facilitator token), who each
//! makes its bearer, the anti-CSRF secret every POST must send back, and the checks a handler
//! starts with (in this room? a POST with its CSRF header? the facilitator? a role?).
//!
//! It does not count or limit anything (`limits` does) and does not touch a room's session.

use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;

use super::AppState;
use super::error::ApiError;
use super::events::Reader;
use super::room::RoomHandle;

/// Who a token makes its bearer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Access {
    /// The server's facilitator: opens rooms, and is facilitator of every room.
    Admin,
    Facilitator(String),
    Player(String, String),
    Projector(String),
}

/// An unguessable secret: 128 bits from the operating system, in hex.
pub(super) fn secret() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the operating system gives random bytes");
    bytes.iter().fold(String::with_capacity(32), |mut s, b| {
        use std::fmt::Write as _;
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The anti-CSRF secret that goes with `token`: pages read it from `/api/me` and send it in
/// the `X-Firedrill-Csrf` header with every POST, which a page of another site cannot do.
pub(super) fn csrf(token: &str) -> String {
    crate::session::transcript::sha256_hex(&format!("firedrill-csrf:{token}"))[..32].to_owned()
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct TokenQuery {
    pub(super) t: Option<String>,
    pub(super) format: Option<String>,
}

/// The token from the `X-Firedrill-Token` header or the `t` query parameter (which an
/// `EventSource` must use), and who it makes its bearer.
pub(super) fn who(
    state: &AppState,
    headers: &HeaderMap,
    query: &TokenQuery,
) -> Result<(String, Access), ApiError> {
    let token = headers
        .get("x-firedrill-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| query.t.clone())
        .ok_or_else(|| {
            ApiError::new(StatusCode::UNAUTHORIZED, "this needs a link's token")
                .hint("open the link the facilitator gave you")
        })?;
    if token == state.admin {
        return Ok((token, Access::Admin));
    }
    let access = state
        .tokens
        .read()
        .expect("tokens lock")
        .get(&token)
        .cloned()
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "this link's token is not known here",
            )
            .hint("ask the facilitator for a new link")
        })?;
    Ok((token, access))
}

/// Checks the anti-CSRF header of a POST.
pub(super) fn check_csrf(headers: &HeaderMap, token: &str) -> Result<(), ApiError> {
    let sent = headers
        .get("x-firedrill-csrf")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if sent != csrf(token) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "missing or wrong X-Firedrill-Csrf header",
        )
        .hint("send the csrf value /api/me gives for your token"));
    }
    Ok(())
}

/// The room `id` and the bearer's reader kind in it; an admin is its facilitator.
pub(super) fn in_room(
    state: &AppState,
    headers: &HeaderMap,
    query: &TokenQuery,
    id: &str,
) -> Result<(String, Reader, Arc<RoomHandle>), ApiError> {
    let (token, access) = who(state, headers, query)?;
    let forbidden = || ApiError::new(StatusCode::FORBIDDEN, "this link is not for that room");
    let reader = match &access {
        Access::Admin => Reader::Facilitator,
        Access::Facilitator(room) if room == id => Reader::Facilitator,
        Access::Player(room, role) if room == id => Reader::Player(role.clone()),
        Access::Projector(room) if room == id => Reader::Projector,
        _ => return Err(forbidden()),
    };
    let handle = room(state, id)?;
    Ok((token, reader, handle))
}

/// The room `id`.
pub(super) fn room(state: &AppState, id: &str) -> Result<Arc<RoomHandle>, ApiError> {
    state
        .rooms
        .read()
        .expect("rooms lock")
        .get(id)
        .cloned()
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no such room"))
}

/// [`in_room`] for a POST, which must carry the anti-CSRF header that goes with its token.
pub(super) fn posting_in_room(
    state: &AppState,
    headers: &HeaderMap,
    query: &TokenQuery,
    id: &str,
) -> Result<(String, Reader, Arc<RoomHandle>), ApiError> {
    let (token, reader, handle) = in_room(state, headers, query, id)?;
    check_csrf(headers, &token)?;
    Ok((token, reader, handle))
}

/// [`posting_in_room`] for what only the facilitator may do: the room.
pub(super) fn facilitator_posting(
    state: &AppState,
    headers: &HeaderMap,
    query: &TokenQuery,
    id: &str,
) -> Result<Arc<RoomHandle>, ApiError> {
    let (_, reader, handle) = posting_in_room(state, headers, query, id)?;
    facilitator_only(&reader)?;
    Ok(handle)
}

/// [`posting_in_room`] for what only a role's link may do: its token, its role and the room;
/// any other link is refused with `refusal`.
pub(super) fn player_posting(
    state: &AppState,
    headers: &HeaderMap,
    query: &TokenQuery,
    id: &str,
    refusal: &str,
) -> Result<(String, String, Arc<RoomHandle>), ApiError> {
    let (token, reader, handle) = posting_in_room(state, headers, query, id)?;
    let Reader::Player(role) = reader else {
        return Err(ApiError::new(StatusCode::FORBIDDEN, refusal));
    };
    Ok((token, role, handle))
}

pub(super) fn facilitator_only(reader: &Reader) -> Result<(), ApiError> {
    if *reader == Reader::Facilitator {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "only the facilitator's link can do that",
        ))
    }
}

pub(super) fn admin_only(
    state: &AppState,
    headers: &HeaderMap,
    query: &TokenQuery,
) -> Result<String, ApiError> {
    match who(state, headers, query)? {
        (token, Access::Admin) => Ok(token),
        _ => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "only the server's facilitator link can do that",
        )),
    }
}

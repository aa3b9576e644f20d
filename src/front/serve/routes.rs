//! The war room's URL table: each path and method to its handler, and the layers every answer
//! passes through (body size cap, a minute's deadline, compression, and the security headers:
//! content security policy, `nosniff`, no referrer, no framing).
//!
//! It does not decide who may call a route (`auth` does, inside each handler) and holds no
//! handler itself.

use std::sync::Arc;
use std::time::Duration as WallDuration;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::routing::{get, post};

use super::downloads::{debrief, metrics, summary, transcript};
use super::error::ApiError;
use super::lobby::{create_room, library_list, me, rooms_list};
use super::play::{checklists, command, control, inject, join, room_state};
use super::prevent::{clear_changes, download_postmortem, list_changes, upload_change, whatif};
use super::streams::events_stream;
use super::{AppState, MAX_BODY, assets};

pub(super) fn router(state: Arc<AppState>) -> Router {
    use tower_http::set_header::SetResponseHeaderLayer;
    Router::new()
        .route("/", get(assets::index))
        .route("/room/{id}", get(assets::room_page))
        .route("/static/{file}", get(assets::file))
        .route("/api/me", get(me))
        .route("/api/library", get(library_list))
        .route("/api/rooms", get(rooms_list).post(create_room))
        .route("/api/rooms/{id}/state", get(room_state))
        .route("/api/rooms/{id}/join", post(join))
        .route("/api/rooms/{id}/command", post(command))
        .route("/api/rooms/{id}/control", post(control))
        .route("/api/rooms/{id}/inject", post(inject))
        .route("/api/rooms/{id}/checklists", post(checklists))
        .route("/api/rooms/{id}/events", get(events_stream))
        .route("/api/rooms/{id}/transcript", get(transcript))
        .route("/api/rooms/{id}/debrief", get(debrief))
        .route("/api/rooms/{id}/summary", get(summary))
        .route("/api/rooms/{id}/metrics", get(metrics))
        .route(
            "/api/rooms/{id}/changes",
            get(list_changes).post(upload_change).delete(clear_changes),
        )
        .route("/api/rooms/{id}/whatif", get(whatif))
        .route("/api/rooms/{id}/postmortem", get(download_postmortem))
        .fallback(not_found)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(MAX_BODY))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            WallDuration::from_mins(1),
        ))
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(assets::CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no such page")
}

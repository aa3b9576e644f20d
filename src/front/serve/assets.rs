//! The war room's pages, script and style: files under `templates/serve/`, embedded in the
//! binary. The pages hold no data (the script fetches it with the link's token), so they
//! are served as they are, under a Content-Security-Policy that allows no inline script.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Every page's policy: script, style and connections only from this server.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The debrief's policy: its own inline style and SVG, no script.
pub const DEBRIEF_CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'";

const INDEX: &str = include_str!("../../../templates/serve/index.html");
const ROOM: &str = include_str!("../../../templates/serve/room.html");
const APP_JS: &str = include_str!("../../../templates/serve/app.js");
const APP_CSS: &str = include_str!("../../../templates/serve/app.css");

fn html(text: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        text,
    )
        .into_response()
}

/// The facilitator's lobby: drills, rooms, links.
pub async fn index() -> Response {
    html(INDEX)
}

/// A room, for whichever link opened it (the script asks the server who it is).
pub async fn room_page(Path(_id): Path<String>) -> Response {
    html(ROOM)
}

/// `/static/app.js` and `/static/app.css`.
pub async fn file(Path(name): Path<String>) -> Response {
    let (kind, text) = match name.as_str() {
        "app.js" => ("text/javascript; charset=utf-8", APP_JS),
        "app.css" => ("text/css; charset=utf-8", APP_CSS),
        _ => return (StatusCode::NOT_FOUND, "no such file").into_response(),
    };
    ([(header::CONTENT_TYPE, kind)], text).into_response()
}

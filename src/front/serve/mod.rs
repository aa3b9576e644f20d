//! `firedrill serve`: the war room in the browser, a front-end above the session like the
//! terminal. An HTTP server (axum on tokio) holds rooms ([`room`]), each a [`Session`] on its
//! own thread; players, the facilitator and a projector reach a room through links whose
//! tokens say who they are, send commands and controls as JSON, and follow the room through
//! server-sent events ([`events`]). Pages, script and style are files embedded in the binary
//! ([`assets`]); nothing is loaded from elsewhere.
//!
//! This module decides who may do what (tokens, anti-CSRF secrets, rate and size limits,
//! how many rooms and streams) and turns requests into room requests. It does not play the
//! game: the rules are the session's, and what a stream may carry is the room's.
//!
//! [`Session`]: crate::session::Session

pub mod assets;
pub mod events;
pub mod room;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration as WallDuration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;

use self::events::Reader;
use self::room::{ClockOp, Meta, Refusal, RefusalKind, Request, Room, RoomHandle, Tokens};
use crate::drill;
use crate::session::SimTime;
use crate::session::transcript::ClockMode;

/// Realtime speed bounds (× wall time), as `run --speed` has them.
pub const MIN_SPEED: f64 = 0.01;
pub const MAX_SPEED: f64 = 1000.0;

/// The largest request body (an uploaded drill).
pub const MAX_BODY: usize = 2 * 1024 * 1024;

/// What `firedrill serve` was asked to do, checked.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub data: PathBuf,
    /// Drills offered besides the built-in library: (name, text), each already checked.
    pub drills: Vec<(String, String)>,
    pub limits: Limits,
    /// The history store a room's finished session is recorded in when the room names its
    /// team (`None`: `--no-record`).
    pub history: Option<PathBuf>,
}

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

/// Who a token makes its bearer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Access {
    /// The server's facilitator: opens rooms, and is facilitator of every room.
    Admin,
    Facilitator(String),
    Player(String, String),
    Projector(String),
}

struct AppState {
    data: PathBuf,
    history: Option<PathBuf>,
    admin: String,
    library: Vec<(String, String)>,
    rooms: RwLock<BTreeMap<String, Arc<RoomHandle>>>,
    tokens: RwLock<HashMap<String, Access>>,
    streams: AtomicUsize,
    room_streams: Mutex<HashMap<String, usize>>,
    rate: Mutex<HashMap<String, (f64, Instant)>>,
    limits: Limits,
}

/// An unguessable secret: 128 bits from the operating system, in hex.
fn secret() -> String {
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
fn csrf(token: &str) -> String {
    crate::session::transcript::sha256_hex(&format!("firedrill-csrf:{token}"))[..32].to_owned()
}

#[derive(Serialize, Deserialize)]
struct ServerFile {
    admin_token: String,
}

/// Runs the server until it is stopped (Ctrl-C).
///
/// # Errors
/// The data directory cannot be used, or the address cannot be bound.
pub fn run(config: &ServeConfig) -> Result<(), String> {
    let rooms_dir = config.data.join("rooms");
    std::fs::create_dir_all(&rooms_dir)
        .map_err(|e| format!("cannot create {}: {e}", rooms_dir.display()))?;
    let admin = admin_token(&config.data)?;
    let state = Arc::new(AppState {
        data: config.data.clone(),
        history: config.history.clone(),
        admin,
        library: library(&config.drills),
        rooms: RwLock::new(BTreeMap::new()),
        tokens: RwLock::new(HashMap::new()),
        streams: AtomicUsize::new(0),
        room_streams: Mutex::new(HashMap::new()),
        rate: Mutex::new(HashMap::new()),
        limits: config.limits,
    });
    recover_rooms(&state, &rooms_dir);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the server's runtime: {e}"))?;
    runtime.block_on(serve(state, config.listen))
}

async fn serve(state: Arc<AppState>, listen: SocketAddr) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "firedrill serve: listening on http://{addr}/  facilitator: http://{addr}/#admin={}",
            state.admin
        );
        let _ = writeln!(
            out,
            "rooms and transcripts in {}; stop with Ctrl-C (rooms come back at the next start)",
            state.data.display()
        );
        let _ = out.flush();
    }
    if !addr.ip().is_loopback() {
        eprintln!(
            "warning: listening on {addr}, which is not a loopback address: anyone who can reach it and has a link can play (serve on 127.0.0.1 unless the room is on a trusted network)"
        );
    }
    tokio::spawn(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("firedrill serve: stopped; every accepted input is in its room's transcript");
            std::process::exit(0);
        }
    });
    let limits = crate::front::http::ConnLimits {
        max_head: 64 * 1024,
        head_deadline: WallDuration::from_secs(10),
        max_connections: state.limits.max_streams + 500,
        max_backoff: WallDuration::from_secs(1),
        keep_alive: true,
        busy: "busy: this war room server has as many connections as it takes; try again shortly\n",
    };
    crate::front::http::serve(listener, router(state), limits).await;
    Ok(())
}

/// The server's facilitator token, kept in `--data/server.json` so links survive a restart.
fn admin_token(data: &Path) -> Result<String, String> {
    let path = data.join("server.json");
    if path.exists() {
        let text = crate::files::read_text_limited(&path, 64 * 1024, "server file")?;
        let file: ServerFile = serde_json::from_str(&text)
            .map_err(|e| format!("{}: not firedrill's server file: {e}", path.display()))?;
        return Ok(file.admin_token);
    }
    let file = ServerFile {
        admin_token: secret(),
    };
    crate::files::write_atomic(&path, |out| {
        serde_json::to_writer_pretty(&mut *out, &file).map_err(std::io::Error::other)
    })
    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(file.admin_token)
}

/// The built-in drills, then the drills given on the command line.
fn library(extra: &[(String, String)]) -> Vec<(String, String)> {
    drill::library::BUILTIN
        .iter()
        .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
        .chain(extra.iter().cloned())
        .collect()
}

fn recover_rooms(state: &Arc<AppState>, dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join(room::META).is_file())
        .collect();
    dirs.sort();
    for dir in dirs {
        match Room::recover(&dir) {
            Ok((room, handle, rx)) => {
                register(state, room, handle, rx);
            }
            Err(message) => eprintln!(
                "firedrill serve: room {} not restored: {message}",
                dir.display()
            ),
        }
    }
}

fn register(
    state: &AppState,
    mut room: Room,
    handle: RoomHandle,
    rx: std::sync::mpsc::Receiver<Request>,
) -> Arc<RoomHandle> {
    let handle = Arc::new(handle);
    {
        let mut tokens = state.tokens.write().expect("tokens lock");
        let id = &handle.id;
        tokens.insert(
            handle.tokens.facilitator.clone(),
            Access::Facilitator(id.clone()),
        );
        tokens.insert(
            handle.tokens.projector.clone(),
            Access::Projector(id.clone()),
        );
        for (role, token) in &handle.tokens.roles {
            tokens.insert(token.clone(), Access::Player(id.clone(), role.clone()));
        }
    }
    state
        .rooms
        .write()
        .expect("rooms lock")
        .insert(handle.id.clone(), handle.clone());
    room.record_to(state.history.clone());
    let name = format!("room-{}", handle.id);
    let _ = std::thread::Builder::new()
        .name(name)
        .spawn(move || room.run(&rx));
    handle
}

fn router(state: Arc<AppState>) -> Router {
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

// --- errors ---

/// A refusal as the API sends it: a status and `{"error": ..., "hint": ...}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    hint: Option<String>,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            hint: None,
        }
    }
    fn bad(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }
    fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        let status = match r.kind {
            RefusalKind::Invalid => StatusCode::BAD_REQUEST,
            RefusalKind::Conflict => StatusCode::CONFLICT,
            RefusalKind::Broken => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError {
            status,
            message: r.message,
            hint: r.hint,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({ "error": self.message, "hint": self.hint })),
        )
            .into_response()
    }
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no such page")
}

// --- who is asking ---

#[derive(Debug, Default, Deserialize)]
struct TokenQuery {
    t: Option<String>,
    format: Option<String>,
}

/// The token from the `X-Firedrill-Token` header or the `t` query parameter (which an
/// `EventSource` must use), and who it makes its bearer.
fn who(
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
fn check_csrf(headers: &HeaderMap, token: &str) -> Result<(), ApiError> {
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
fn in_room(
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
    let handle = state
        .rooms
        .read()
        .expect("rooms lock")
        .get(id)
        .cloned()
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no such room"))?;
    Ok((token, reader, handle))
}

fn facilitator_only(reader: &Reader) -> Result<(), ApiError> {
    if *reader == Reader::Facilitator {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "only the facilitator's link can do that",
        ))
    }
}

// --- the lobby ---

async fn me(
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
    let handle = state
        .rooms
        .read()
        .expect("rooms lock")
        .get(&room_id)
        .cloned()
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no such room"))?;
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

fn admin_only(
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

async fn library_list(
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

async fn rooms_list(
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
struct CreateRoom {
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

async fn create_room(
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
        let (room, handle, rx) = Room::create(dir, &text, drill, meta)
            .map_err(|m| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, m))?;
        Ok(register(&state2, room, handle, rx))
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))??;
    Ok(Json(json!({
        "id": handle.id,
        "title": handle.title,
        "tokens": handle.tokens,
        "links": links(&handle),
    })))
}

// --- in a room ---

async fn room_state(
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
struct JoinBody {
    name: String,
}

async fn join(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
    Json(body): Json<JoinBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (token, reader, handle) = in_room(&state, &headers, &query, &id)?;
    check_csrf(&headers, &token)?;
    let Reader::Player(role) = reader else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "only a role's link joins a room",
        ));
    };
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
struct CommandBody {
    name: String,
    line: String,
}

/// Takes one token from `key`'s bucket, or says how long to wait.
fn rate_limit(state: &AppState, key: &str) -> Result<(), ApiError> {
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

async fn command(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
    Json(body): Json<CommandBody>,
) -> Result<Json<room::CommandReply>, ApiError> {
    let (token, reader, handle) = in_room(&state, &headers, &query, &id)?;
    check_csrf(&headers, &token)?;
    let Reader::Player(role) = reader else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "commands come from a role's link (the facilitator uses the controls)",
        ));
    };
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
struct ControlBody {
    /// start, pause, resume, speed, end, or advance (a turn-based room).
    op: String,
    speed: Option<f64>,
    /// For advance: the simulated time to move to, in nanoseconds from the start ...
    to_ns: Option<u64>,
    /// ... or a duration to move by (`5m`).
    by: Option<String>,
}

async fn control(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
    Json(body): Json<ControlBody>,
) -> Result<Json<room::State>, ApiError> {
    let (token, reader, handle) = in_room(&state, &headers, &query, &id)?;
    check_csrf(&headers, &token)?;
    facilitator_only(&reader)?;
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
struct InjectBody {
    /// A role, or none for everyone.
    to: Option<String>,
    from: String,
    message: String,
}

async fn inject(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
    Json(body): Json<InjectBody>,
) -> Result<Json<room::State>, ApiError> {
    let (token, reader, handle) = in_room(&state, &headers, &query, &id)?;
    check_csrf(&headers, &token)?;
    facilitator_only(&reader)?;
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
struct ChecklistsBody {
    revealed: bool,
}

async fn checklists(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
    Json(body): Json<ChecklistsBody>,
) -> Result<Json<room::State>, ApiError> {
    let (token, reader, handle) = in_room(&state, &headers, &query, &id)?;
    check_csrf(&headers, &token)?;
    facilitator_only(&reader)?;
    Ok(Json(
        handle
            .call(|reply| Request::Checklists {
                revealed: body.revealed,
                reply,
            })
            .await?,
    ))
}

/// Releases a stream's place in the counts when the client goes.
struct StreamGuard {
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

fn open_stream(state: &Arc<AppState>, room: &str) -> Result<StreamGuard, ApiError> {
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

async fn events_stream(
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

async fn transcript(
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
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
    .map_err(|m| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, m))?;
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
fn safe_name(name: &str) -> String {
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

async fn debrief(
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

async fn summary(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
) -> Result<Response, ApiError> {
    let (_, _, handle) = in_room(&state, &headers, &query, &id)?;
    let text = handle.call(|reply| Request::Summary { reply }).await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], text).into_response())
}

async fn metrics(
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

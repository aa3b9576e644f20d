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
//! This file owns the server's configuration and state, its start (the data directory, the
//! facilitator's token, the rooms recovered from disk) and registering a room. The URL table
//! is in `routes`, refusals in `error`, who is asking in `auth`, the limits in `limits`, and
//! the handlers in `lobby` (rooms), `play` (commands and controls), `streams`, `downloads` and
//! `prevent` (change files, what-if and the postmortem of the room's session).
//!
//! [`Session`]: crate::session::Session

pub mod assets;
mod auth;
mod downloads;
mod error;
pub mod events;
mod limits;
mod lobby;
mod play;
mod prevent;
pub mod room;
mod routes;
mod streams;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration as WallDuration, Instant};

use serde::{Deserialize, Serialize};

use self::auth::{Access, secret};
pub use self::error::ApiError;
pub use self::limits::Limits;
use self::room::{Request, Room, RoomHandle};
use self::routes::router;
use crate::drill;

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
    /// The team's Alertmanager and chat webhook, if the rooms post to them.
    pub notify: crate::front::notify::Targets,
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
    notifier: Option<crate::front::notify::Notifier>,
    /// `http://ADDR`, once the server listens: the start of each room's link.
    base_url: std::sync::OnceLock<String>,
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
    // The delivery thread runs as long as the server: its handle is left to run.
    let notifier = if config.notify.is_empty() {
        None
    } else {
        Some(crate::front::notify::Notifier::start(&config.notify)?.0)
    };
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
        notifier,
        base_url: std::sync::OnceLock::new(),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the server's runtime: {e}"))?;
    runtime.block_on(serve(state, config.listen, &rooms_dir))
}

async fn serve(state: Arc<AppState>, listen: SocketAddr, rooms_dir: &Path) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let _ = state.base_url.set(format!("http://{addr}"));
    recover_rooms(&state, rooms_dir);
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
    if let Some(notifier) = &state.notifier {
        let link = state
            .base_url
            .get()
            .map(|base| format!("{base}/room/{}", handle.id));
        room.notify_to(notifier, link);
    }
    let name = format!("room-{}", handle.id);
    let _ = std::thread::Builder::new()
        .name(name)
        .spawn(move || room.run(&rx));
    handle
}

//! After the incident, in the room: the facilitator uploads a postmortem's change files, sees
//! their what-if on the room's own session (its drill and seed, with no team and with the
//! team's inputs so far), and downloads the postmortem with the changes as its action items.
//!
//! The change files are kept in the room's directory (`changes/`), so they outlive a restart
//! of the server as the transcript does. The runs are the library's ([`crate::whatif`]); one
//! what-if or postmortem runs at a time on the server, off the async runtime, so rooms being
//! played are never held up by one.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use super::auth::{TokenQuery, check_csrf, facilitator_only, facilitator_posting, in_room};
use super::downloads::safe_name;
use super::error::ApiError;
use super::events::Reader;
use super::room::RoomHandle;
use super::{AppState, assets};
use crate::calibrate::{Plan, Shard};
use crate::drill::Drill;
use crate::drill::change::{Change, ChangeKind};
use crate::session::transcript::Transcript;
use crate::whatif::{Variants, postmortem};

/// The most change files a room keeps.
pub const MAX_CHANGES: usize = 8;
/// The largest change file, in bytes.
pub const MAX_CHANGE_BYTES: usize = 64 * 1024;
/// The most seeds one what-if or postmortem runs in the war room (more from the command line).
pub const MAX_RUNS: u32 = 5;
const CHANGES_DIR: &str = "changes";

/// One what-if or postmortem at a time on the whole server.
static RUNNING: Semaphore = Semaphore::const_new(1);

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PreventQuery {
    t: Option<String>,
    format: Option<String>,
    runs: Option<u32>,
    date: Option<String>,
}

impl PreventQuery {
    fn token(&self) -> TokenQuery {
        TokenQuery {
            t: self.t.clone(),
            format: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ChangeBody {
    /// The file's name, as the facilitator's browser gives it.
    name: String,
    text: String,
}

/// A change file the room keeps, as the page lists it.
#[derive(Debug, Serialize)]
pub(super) struct ChangeEntry {
    file: String,
    title: String,
    owner: Option<String>,
    kind: Option<&'static str>,
}

fn kind_name(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Prevent => "Prevent",
        ChangeKind::Mitigate => "Mitigate",
        ChangeKind::Detect => "Detect",
    }
}

/// The room `id` for its facilitator only (a GET: no anti-CSRF header needed), with the
/// bearer's token.
fn facilitator_in_room(
    state: &AppState,
    headers: &HeaderMap,
    query: &TokenQuery,
    id: &str,
) -> Result<(String, Arc<RoomHandle>), ApiError> {
    let (token, reader, handle) = in_room(state, headers, query, id)?;
    facilitator_only(&reader)?;
    Ok((token, handle))
}

/// The room's drill, from its transcript's header.
fn room_drill(handle: &RoomHandle) -> Result<(Transcript, Drill, PathBuf), ApiError> {
    let path = handle.transcript_path();
    let transcript = Transcript::read(&path).map_err(|e| ApiError::internal(e.to_string()))?;
    let drill = transcript
        .drill(&path)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok((transcript, drill, path))
}

/// The change files kept for the room, in upload order, each read against `drill`.
fn kept(dir: &Path, drill: &Drill) -> Result<Vec<(String, Change)>, ApiError> {
    let dir = dir.join(CHANGES_DIR);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(Vec::new());
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| Path::new(n).extension().is_some_and(|e| e == "ron") && !n.starts_with('.'))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let text = crate::files::read_text_limited(
                &dir.join(&name),
                MAX_CHANGE_BYTES as u64,
                "change file",
            )
            .map_err(ApiError::internal)?;
            let change = crate::drill::load::load_change_str(&name, &text, drill)
                .map_err(|e| ApiError::internal(e.plain().to_string()))?;
            Ok((name, change))
        })
        .collect()
}

fn entries(kept: &[(String, Change)]) -> Vec<ChangeEntry> {
    kept.iter()
        .map(|(file, c)| ChangeEntry {
            file: file.clone(),
            title: c.title.clone(),
            owner: c.owner.clone(),
            kind: c.kind.map(kind_name),
        })
        .collect()
}

/// Runs `work` off the runtime, one at a time on the server.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let _permit = RUNNING
        .acquire()
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
}

pub(super) async fn list_changes(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    Query(query): Query<PreventQuery>,
) -> Result<Json<Vec<ChangeEntry>>, ApiError> {
    let (_, handle) = facilitator_in_room(&state, &headers, &query.token(), &id)?;
    let list = tokio::task::spawn_blocking(move || {
        let (_, drill, _) = room_drill(&handle)?;
        kept(&handle.dir, &drill)
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))??;
    Ok(Json(entries(&list)))
}

pub(super) async fn upload_change(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    Query(query): Query<PreventQuery>,
    Json(body): Json<ChangeBody>,
) -> Result<Json<Vec<ChangeEntry>>, ApiError> {
    let handle = facilitator_posting(&state, &headers, &query.token(), &id)?;
    let name = body.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::bad(
            "a change file needs a name of 1 to 100 characters",
        ));
    }
    if body.text.len() > MAX_CHANGE_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "`{}` is {}; a change file may be at most {}",
                crate::sanitize::shown(&name),
                crate::files::human_size(body.text.len() as u64),
                crate::files::human_size(MAX_CHANGE_BYTES as u64)
            ),
        ));
    }
    let list = tokio::task::spawn_blocking(move || {
        let (_, drill, _) = room_drill(&handle)?;
        let change = crate::drill::load::load_change_str(&name, &body.text, &drill)
            .map_err(|e| refused(&name, &e.plain().to_string()))?;
        Variants::new(&drill, std::slice::from_ref(&change)).map_err(|problems| {
            let lines: Vec<String> = problems.into_iter().map(|p| p.message).collect();
            refused(&name, &lines.join("\n"))
        })?;
        let mut list = kept(&handle.dir, &drill)?;
        if list.len() >= MAX_CHANGES {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!("the room keeps at most {MAX_CHANGES} change files"),
            )
            .hint("clear the list and upload the ones to compare"));
        }
        let dir = handle.dir.join(CHANGES_DIR);
        std::fs::create_dir_all(&dir).map_err(|e| ApiError::internal(e.to_string()))?;
        let file = format!("{:02}-{}.ron", list.len() + 1, file_stem(&name));
        crate::files::write_atomic(&dir.join(&file), |out| out.write_all(body.text.as_bytes()))
            .map_err(|e| ApiError::internal(e.to_string()))?;
        list.push((file, change));
        Ok(list)
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))??;
    Ok(Json(entries(&list)))
}

/// A change file refused, with every problem (line:col in the file) as the hint.
fn refused(name: &str, problems: &str) -> ApiError {
    ApiError::bad(format!(
        "`{}` is not a change this drill can take",
        crate::sanitize::shown(name)
    ))
    .hint(problems.trim_end().to_owned())
}

/// A file name's stem, fit for the room's directory.
fn file_stem(name: &str) -> String {
    let stem = safe_name(name.strip_suffix(".ron").unwrap_or(name));
    if stem.is_empty() {
        "change".to_owned()
    } else {
        stem
    }
}

pub(super) async fn clear_changes(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    Query(query): Query<PreventQuery>,
) -> Result<Json<Vec<ChangeEntry>>, ApiError> {
    let (token, handle) = facilitator_in_room(&state, &headers, &query.token(), &id)?;
    check_csrf(&headers, &token)?;
    let dir = handle.dir.join(CHANGES_DIR);
    tokio::task::spawn_blocking(move || match std::fs::remove_dir_all(&dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(ApiError::internal(e.to_string()))
        }
        _ => Ok(()),
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))??;
    Ok(Json(Vec::new()))
}

fn plan(runs: Option<u32>, seed: u64) -> Result<Plan, ApiError> {
    let runs = runs.unwrap_or(1);
    if !(1..=MAX_RUNS).contains(&runs) {
        return Err(
            ApiError::bad(format!("runs must be 1 to {MAX_RUNS} in the war room")).hint(
                "for more, run `firedrill whatif` or `firedrill postmortem` on the transcript",
            ),
        );
    }
    Plan::new(runs, seed, Shard::WHOLE).map_err(|e| ApiError::bad(e.to_string()))
}

fn prevention_error(e: postmortem::PostmortemError) -> ApiError {
    match e {
        postmortem::PostmortemError::Changes(lines) => {
            ApiError::bad("the change files do not apply to the drill").hint(lines.join("\n"))
        }
        other => ApiError::internal(other.to_string()),
    }
}

pub(super) async fn whatif(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    Query(query): Query<PreventQuery>,
) -> Result<Response, ApiError> {
    let (_, handle) = facilitator_in_room(&state, &headers, &query.token(), &id)?;
    let format = query.format.clone().unwrap_or_else(|| "text".to_owned());
    let content_type = match format.as_str() {
        "text" => "text/plain; charset=utf-8",
        "md" | "markdown" => "text/markdown; charset=utf-8",
        "html" => "text/html; charset=utf-8",
        "json" => "application/json",
        other => {
            return Err(ApiError::bad(format!(
                "unknown format `{}`: text, md, html or json",
                crate::sanitize::shown(other)
            )));
        }
    };
    let runs = query.runs;
    let text = blocking(move || {
        let (transcript, drill, _) = room_drill(&handle)?;
        let changes: Vec<Change> = kept(&handle.dir, &drill)?
            .into_iter()
            .map(|(_, c)| c)
            .collect();
        if changes.is_empty() {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "no change files yet: upload one to see its what-if",
            ));
        }
        let plan = plan(runs, transcript.header.seed)?;
        let w = postmortem::session_whatif(&transcript, &drill, &changes, &plan, 0, &|| {})
            .map_err(prevention_error)?;
        Ok(match format.as_str() {
            "text" => crate::report::whatif::text(&w),
            "html" => crate::report::whatif::html(&w),
            "json" => w.json(),
            _ => crate::report::whatif::markdown(&w),
        })
    })
    .await?;
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, assets::DEBRIEF_CSP),
        ],
        text,
    )
        .into_response())
}

pub(super) async fn download_postmortem(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    Query(query): Query<PreventQuery>,
) -> Result<Response, ApiError> {
    let (_, reader, handle) = in_room(&state, &headers, &query.token(), &id)?;
    if reader != Reader::Facilitator && !handle.ended.load(Ordering::Relaxed) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "the postmortem can be downloaded when the drill ends",
        ));
    }
    let html = match query.format.as_deref().unwrap_or("md") {
        "md" | "markdown" => false,
        "html" => true,
        other => {
            return Err(ApiError::bad(format!(
                "unknown format `{}`: md or html",
                crate::sanitize::shown(other)
            )));
        }
    };
    let date = query.date.clone();
    if let Some(d) = &date
        && !is_date(d)
    {
        return Err(ApiError::bad("date must be written YYYY-MM-DD"));
    }
    let runs = query.runs;
    let name = format!(
        "attachment; filename=\"{}-{}-postmortem.{}\"",
        safe_name(&handle.drill_name),
        handle.id,
        if html { "html" } else { "md" }
    );
    let text = blocking(move || {
        let (transcript, drill, path) = room_drill(&handle)?;
        let changes: Vec<Change> = kept(&handle.dir, &drill)?
            .into_iter()
            .map(|(_, c)| c)
            .collect();
        let plan = plan(runs, transcript.header.seed)?;
        let pm = postmortem::build(
            &transcript,
            &path,
            &changes,
            &plan,
            0,
            date.as_deref(),
            &|| {},
        )
        .map_err(prevention_error)?;
        Ok(if html {
            crate::report::postmortem::html(&pm)
        } else {
            crate::report::postmortem::markdown(&pm)
        })
    })
    .await?;
    let content_type = if html {
        "text/html; charset=utf-8"
    } else {
        "text/markdown; charset=utf-8"
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_SECURITY_POLICY,
                assets::DEBRIEF_CSP.to_owned(),
            ),
            (header::CONTENT_DISPOSITION, name),
        ],
        text,
    )
        .into_response())
}

/// `YYYY-MM-DD`.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

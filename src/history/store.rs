//! The history store: one SQLite file (WAL, bundled SQLite) holding each recorded session's
//! transcript and the debrief's figures in plain tables. The schema lives in `migrations/`
//! (one `.sql` file per version, embedded here), applied on open in one transaction and
//! counted by `PRAGMA user_version`.
//!
//! It is careful with what it opens: a file that is not a firedrill store, is damaged, or
//! was written by a newer firedrill is refused with a message and never written. Several
//! writers may share it: each write is one immediate transaction, and a writer that finds
//! the store busy waits (up to [`BUSY_TIMEOUT`]) instead of failing.
//!
//! The store records; it decides nothing. Figures come from [`super::figures`], computed from
//! the transcript it keeps.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use super::figures::Figures;

/// The migrations, in order: the store's schema version is how many of them it has applied.
pub const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_initial",
        include_str!("../../migrations/0001_initial.sql"),
    ),
    (
        "0002_listing",
        include_str!("../../migrations/0002_listing.sql"),
    ),
];

/// The schema version this build writes (and the newest it reads).
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// How long a writer waits for another to finish before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The hidden test hook: a writer sleeps this many milliseconds inside its transaction, after
/// the session's row and before its figures, so a test can kill it mid-recording.
pub const PAUSE_ENV: &str = "FIREDRILL_TEST_PAUSE_IN_RECORD_MS";

/// Why the store cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "no history store at {path}: record a session first (`firedrill play DRILL --reference --team NAME`, or `firedrill history add TRANSCRIPT --team NAME`), or point --db / FIREDRILL_DB at the store"
    )]
    Missing { path: PathBuf },
    #[error(
        "{path} is not a firedrill history store ({detail}); it is left untouched: point --db or FIREDRILL_DB at the store, or restore it from a backup"
    )]
    NotAStore { path: PathBuf, detail: String },
    #[error(
        "{path} was written by a newer firedrill (schema version {found}; this one reads up to {SCHEMA_VERSION}); it is left untouched: upgrade firedrill to use it"
    )]
    Newer { path: PathBuf, found: u32 },
    #[error("history store {path}: {message}")]
    Sqlite { path: PathBuf, message: String },
}

/// An open history store.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// A session to record, with its figures already computed.
pub struct NewSession<'a> {
    pub transcript_sha256: &'a str,
    pub drill_name: &'a str,
    pub drill_sha256: &'a str,
    pub seed: u64,
    pub team: &'a str,
    /// RFC 3339 in UTC (see [`super::PlayedAt`]).
    pub played_at: &'a str,
    pub transcript: &'a str,
    /// `(role, person)` pairs.
    pub people: &'a [(String, String)],
    pub figures: &'a Figures,
}

/// What adding a session did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// Recorded as this id.
    New(i64),
    /// The same transcript was already recorded, as this id; nothing was written.
    Already(i64),
}

/// Which sessions a query covers.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub team: Option<String>,
    pub drill: Option<String>,
    /// RFC 3339 in UTC: sessions played at or after it.
    pub since: Option<String>,
}

/// One session as `history` lists it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SessionRow {
    pub id: i64,
    pub team: String,
    pub drill: String,
    pub played_at: String,
    pub seed: String,
    pub score: Option<u32>,
    pub objectives_met: Option<u32>,
    pub objectives_total: Option<u32>,
    pub detect_seconds: Option<f64>,
    pub detect_target_seconds: Option<f64>,
    pub acknowledge_seconds: Option<f64>,
    pub mitigate_seconds: Option<f64>,
    pub mitigate_target_seconds: Option<f64>,
    /// What was missed: `objective detect`, `task ops/ack` (not done at all).
    pub missed: Vec<String>,
}

/// One task of one session.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRow {
    pub session_id: i64,
    pub role: String,
    pub task: String,
    pub status: String,
}

/// A recorded session's inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSession {
    pub id: i64,
    pub team: String,
    pub played_at: String,
    pub scoring_version: u32,
    pub transcript: String,
    pub people: Vec<(String, String)>,
}

impl Store {
    /// Opens the store at `path`, creating it (and its directory) if it does not exist, and
    /// brings its schema up to date.
    ///
    /// # Errors
    /// As [`StoreError`].
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.exists()
        {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Sqlite {
                path: path.to_owned(),
                message: format!("cannot create its directory {}: {e}", dir.display()),
            })?;
        }
        Self::open_with(path, OpenFlags::SQLITE_OPEN_CREATE)
    }

    /// Opens the store at `path`, which must exist, and brings its schema up to date.
    ///
    /// # Errors
    /// [`StoreError::Missing`] if there is no file, and as [`StoreError`].
    pub fn open_existing(path: &Path) -> Result<Store, StoreError> {
        if !path.exists() {
            return Err(StoreError::Missing {
                path: path.to_owned(),
            });
        }
        Self::open_with(path, OpenFlags::empty())
    }

    /// Opens the store at `path` to read only, if there is one: nothing is created or
    /// migrated (an older schema is read as it is).
    ///
    /// # Errors
    /// As [`StoreError`].
    pub fn open_read_only(path: &Path) -> Result<Option<Store>, StoreError> {
        if !path.is_file() {
            return Ok(None);
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| sqlite(path, &e))?;
        let store = Store {
            conn,
            path: path.to_owned(),
        };
        store
            .conn
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| store.err(&e))?;
        let version = store.checked_version()?;
        if version == 0 {
            return Ok(None);
        }
        Ok(Some(store))
    }

    fn open_with(path: &Path, extra: OpenFlags) -> Result<Store, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | extra,
        )
        .map_err(|e| sqlite(path, &e))?;
        let mut store = Store {
            conn,
            path: path.to_owned(),
        };
        store
            .conn
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| store.err(&e))?;
        // Read before anything is written: a damaged, foreign or newer file is refused here.
        let version = store.checked_version()?;
        let mut mode: String = store
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .map_err(|e| store.err(&e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            // Switching writes the file's header: a store copied out of WAL mode is checked
            // whole first, so that a damaged one is never written.
            if version > 0 {
                store.quick_check()?;
            }
            mode = retry_busy(|| {
                store
                    .conn
                    .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            })
            .map_err(|e| store.err(&e))?;
        }
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Sqlite {
                path: path.to_owned(),
                message: format!("cannot use write-ahead logging (journal mode {mode})"),
            });
        }
        store
            .conn
            .execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;")
            .map_err(|e| store.err(&e))?;
        store.migrate()?;
        Ok(store)
    }

    /// The schema version, after checking the file is a firedrill store this build reads.
    fn checked_version(&self) -> Result<u32, StoreError> {
        let not_a_store = |e: &rusqlite::Error| StoreError::NotAStore {
            path: self.path.clone(),
            detail: e.to_string(),
        };
        // One statement, so one snapshot: another writer may be creating the schema now.
        let (version, tables): (i64, i64) = self
            .conn
            .query_row(
                "SELECT (SELECT user_version FROM pragma_user_version), \
                 (SELECT count(*) FROM sqlite_master)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(|e| not_a_store(&e))?;
        let version = u32::try_from(version).map_err(|_| StoreError::NotAStore {
            path: self.path.clone(),
            detail: format!("schema version {version}"),
        })?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::Newer {
                path: self.path.clone(),
                found: version,
            });
        }
        if version == 0 && tables > 0 {
            return Err(StoreError::NotAStore {
                path: self.path.clone(),
                detail: "an SQLite database with tables of its own and no firedrill schema".into(),
            });
        }
        if version > 0 {
            let has_sessions: i64 = self
                .conn
                .query_row(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'sessions'",
                    [],
                    |r| r.get(0),
                )
                .map_err(|e| not_a_store(&e))?;
            if has_sessions == 0 {
                return Err(StoreError::NotAStore {
                    path: self.path.clone(),
                    detail: format!("schema version {version} but no sessions table"),
                });
            }
        }
        Ok(version)
    }

    /// SQLite's `quick_check` over the whole file.
    fn quick_check(&self) -> Result<(), StoreError> {
        let mut stmt = self
            .conn
            .prepare("PRAGMA quick_check")
            .map_err(|e| self.err(&e))?;
        let problems: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .map_err(|e| self.err(&e))?
            .collect::<Result<_, _>>()
            .map_err(|e| self.err(&e))?;
        if problems.len() == 1 && problems[0] == "ok" {
            return Ok(());
        }
        Err(StoreError::NotAStore {
            path: self.path.clone(),
            detail: format!(
                "damaged: {}",
                problems.into_iter().take(3).collect::<Vec<_>>().join("; ")
            ),
        })
    }

    /// Applies the migrations the store lacks, all in one transaction.
    fn migrate(&mut self) -> Result<(), StoreError> {
        let path = self.path.clone();
        let err = |e: &rusqlite::Error| sqlite(&path, e);
        let tx = self.begin_immediate().map_err(|e| err(&e))?;
        // Another writer may have migrated while this one waited for the lock.
        let version: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| err(&e))?;
        let version = usize::try_from(version).unwrap_or(usize::MAX);
        if version > MIGRATIONS.len() {
            return Err(StoreError::Newer {
                path: path.clone(),
                found: u32::try_from(version).unwrap_or(u32::MAX),
            });
        }
        if version == MIGRATIONS.len() {
            return Ok(());
        }
        for (name, sql) in &MIGRATIONS[version..] {
            tx.execute_batch(sql).map_err(|e| StoreError::Sqlite {
                path: path.clone(),
                message: format!("migration {name} failed: {e}"),
            })?;
        }
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(|e| err(&e))?;
        tx.commit().map_err(|e| err(&e))
    }

    /// Begins a write transaction, waiting while another writer holds the store.
    fn begin_immediate(&self) -> rusqlite::Result<rusqlite::Transaction<'_>> {
        retry_busy(|| {
            rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
        })
    }

    fn err(&self, e: &rusqlite::Error) -> StoreError {
        sqlite(&self.path, e)
    }

    /// Where the store is.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version of the open file.
    ///
    /// # Errors
    /// SQLite.
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        let v: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err(&e))?;
        Ok(u32::try_from(v).unwrap_or(0))
    }

    /// The id of the session recorded from the transcript with this SHA-256, if any.
    ///
    /// # Errors
    /// SQLite.
    pub fn find(&self, transcript_sha256: &str) -> Result<Option<i64>, StoreError> {
        self.conn
            .query_row(
                "SELECT id FROM sessions WHERE transcript_sha256 = ?1",
                [transcript_sha256],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(&e))
    }

    /// Records a session in one transaction: wholly, or (if its transcript is already there,
    /// or the writer dies) not at all.
    ///
    /// # Errors
    /// SQLite.
    pub fn add(&mut self, s: &NewSession<'_>) -> Result<Added, StoreError> {
        let path = self.path.clone();
        let err = |e: &rusqlite::Error| sqlite(&path, e);
        let tx = self.begin_immediate().map_err(|e| err(&e))?;
        let existing: Option<i64> = tx
            .query_row(
                "SELECT id FROM sessions WHERE transcript_sha256 = ?1",
                [s.transcript_sha256],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| err(&e))?;
        if let Some(id) = existing {
            return Ok(Added::Already(id));
        }
        tx.execute(
            "INSERT INTO sessions (transcript_sha256, drill_name, drill_sha256, seed, team, \
             played_at, scoring_version, transcript) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                s.transcript_sha256,
                s.drill_name,
                s.drill_sha256,
                s.seed.to_string(),
                s.team,
                s.played_at,
                super::figures::SCORING_VERSION,
                s.transcript
            ],
        )
        .map_err(|e| err(&e))?;
        let id = tx.last_insert_rowid();
        for (role, person) in s.people {
            tx.execute(
                "INSERT OR IGNORE INTO people (session_id, role, person) VALUES (?1, ?2, ?3)",
                params![id, role, person],
            )
            .map_err(|e| err(&e))?;
        }
        if let Some(ms) = std::env::var(PAUSE_ENV)
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
        {
            eprintln!("recording: paused inside the transaction");
            std::thread::sleep(Duration::from_millis(ms));
        }
        insert_figures(&tx, id, s.figures).map_err(|e| err(&e))?;
        tx.commit().map_err(|e| err(&e))?;
        Ok(Added::New(id))
    }

    /// The ids of sessions whose figures were computed by another scoring version.
    ///
    /// # Errors
    /// SQLite.
    pub fn stale(&self) -> Result<Vec<i64>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id FROM sessions WHERE scoring_version != ?1 ORDER BY id")
            .map_err(|e| self.err(&e))?;
        let rows = stmt
            .query_map([super::figures::SCORING_VERSION], |r| r.get(0))
            .map_err(|e| self.err(&e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(&e))
    }

    /// Replaces a session's figures with ones computed by this scoring version.
    ///
    /// # Errors
    /// SQLite.
    pub fn replace_figures(&mut self, id: i64, figures: &Figures) -> Result<(), StoreError> {
        let path = self.path.clone();
        let err = |e: &rusqlite::Error| sqlite(&path, e);
        let tx = self.begin_immediate().map_err(|e| err(&e))?;
        for table in ["scores", "objectives", "tasks", "timings", "harm"] {
            tx.execute(&format!("DELETE FROM {table} WHERE session_id = ?1"), [id])
                .map_err(|e| err(&e))?;
        }
        insert_figures(&tx, id, figures).map_err(|e| err(&e))?;
        tx.execute(
            "UPDATE sessions SET scoring_version = ?1 WHERE id = ?2",
            params![super::figures::SCORING_VERSION, id],
        )
        .map_err(|e| err(&e))?;
        tx.commit().map_err(|e| err(&e))
    }

    /// One recorded session's inputs.
    ///
    /// # Errors
    /// SQLite.
    pub fn session(&self, id: i64) -> Result<Option<StoredSession>, StoreError> {
        let found = self
            .conn
            .query_row(
                "SELECT id, team, played_at, scoring_version, transcript FROM sessions WHERE id = ?1",
                [id],
                |r| {
                    Ok(StoredSession {
                        id: r.get(0)?,
                        team: r.get(1)?,
                        played_at: r.get(2)?,
                        scoring_version: r.get(3)?,
                        transcript: r.get(4)?,
                        people: Vec::new(),
                    })
                },
            )
            .optional()
            .map_err(|e| self.err(&e))?;
        let Some(mut s) = found else { return Ok(None) };
        let mut stmt = self
            .conn
            .prepare("SELECT role, person FROM people WHERE session_id = ?1 ORDER BY role, person")
            .map_err(|e| self.err(&e))?;
        s.people = stmt
            .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.err(&e))?
            .collect::<Result<_, _>>()
            .map_err(|e| self.err(&e))?;
        Ok(Some(s))
    }

    /// The figures stored for a session (as its scoring version computed them).
    ///
    /// # Errors
    /// SQLite.
    pub fn figures(&self, id: i64) -> Result<Option<Figures>, StoreError> {
        use super::figures::{HarmFigure, ObjectiveFigure, TaskFigure, TimingFigure};
        let e = |e: rusqlite::Error| self.err(&e);
        let head = self
            .conn
            .query_row(
                "SELECT score, exact, checklist_earned, checklist_possible, worse_than_none, \
                 ended_seconds FROM scores WHERE session_id = ?1",
                [id],
                |r| {
                    Ok((
                        r.get::<_, u32>(0)?,
                        r.get::<_, f64>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, bool>(4)?,
                        r.get::<_, f64>(5)?,
                    ))
                },
            )
            .optional()
            .map_err(e)?;
        let Some((score, exact, checklist_earned, checklist_possible, worse_than_none, ended)) =
            head
        else {
            return Ok(None);
        };
        let objectives = self
            .conn
            .prepare(
                "SELECT name, target_seconds, actual_seconds, met FROM objectives \
                 WHERE session_id = ?1 ORDER BY rowid",
            )
            .map_err(e)?
            .query_map([id], |r| {
                Ok(ObjectiveFigure {
                    name: r.get(0)?,
                    target_seconds: r.get(1)?,
                    actual_seconds: r.get(2)?,
                    met: r.get(3)?,
                })
            })
            .map_err(e)?
            .collect::<Result<_, _>>()
            .map_err(e)?;
        let tasks = self
            .conn
            .prepare(
                "SELECT role, task, status, points, earned, done_seconds FROM tasks \
                 WHERE session_id = ?1 ORDER BY rowid",
            )
            .map_err(e)?
            .query_map([id], |r| {
                Ok(TaskFigure {
                    role: r.get(0)?,
                    task: r.get(1)?,
                    status: r.get(2)?,
                    points: r.get(3)?,
                    earned: r.get(4)?,
                    done_seconds: r.get(5)?,
                })
            })
            .map_err(e)?
            .collect::<Result<_, _>>()
            .map_err(e)?;
        let timings = self
            .conn
            .prepare(
                "SELECT name, seconds, target_seconds FROM timings WHERE session_id = ?1 ORDER BY rowid",
            )
            .map_err(e)?
            .query_map([id], |r| {
                Ok(TimingFigure {
                    name: r.get(0)?,
                    seconds: r.get(1)?,
                    target_seconds: r.get(2)?,
                })
            })
            .map_err(e)?
            .collect::<Result<_, _>>()
            .map_err(e)?;
        let harm = self
            .conn
            .query_row(
                "SELECT arrived, failed, rejected, degraded, wrong_answers, harmed, \
                 page_breach_minutes, no_response_harmed FROM harm WHERE session_id = ?1",
                [id],
                |r| {
                    let n = |i: usize| r.get::<_, i64>(i).map(|v| v.max(0) as u64);
                    Ok(HarmFigure {
                        arrived: n(0)?,
                        failed: n(1)?,
                        rejected: n(2)?,
                        degraded: n(3)?,
                        wrong_answers: n(4)?,
                        harmed: n(5)?,
                        page_breach_minutes: r.get(6)?,
                        no_response_harmed: n(7)?,
                    })
                },
            )
            .map_err(e)?;
        Ok(Some(Figures {
            score,
            exact,
            checklist_earned,
            checklist_possible,
            worse_than_none,
            ended_seconds: ended,
            objectives,
            tasks,
            timings,
            harm,
        }))
    }

    /// The sessions `filter` covers, oldest first (by played_at, then id).
    ///
    /// # Errors
    /// SQLite.
    pub fn sessions(&self, filter: &Filter) -> Result<Vec<SessionRow>, StoreError> {
        let (clause, args) = where_clause(filter);
        let sql = format!(
            "SELECT s.id, s.team, s.drill_name, s.played_at, s.seed, sc.score, sc.objectives_met, \
             sc.objectives_total, d.seconds, d.target_seconds, a.seconds, m.seconds, m.target_seconds \
             FROM sessions s \
             LEFT JOIN scores sc ON sc.session_id = s.id \
             LEFT JOIN timings d ON d.session_id = s.id AND d.name = 'detect' \
             LEFT JOIN timings a ON a.session_id = s.id AND a.name = 'acknowledge' \
             LEFT JOIN timings m ON m.session_id = s.id AND m.name = 'mitigate' \
             {clause} ORDER BY s.played_at, s.id"
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(&e))?;
        let mut rows: Vec<SessionRow> = stmt
            .query_map(rusqlite::params_from_iter(args.iter()), |r| {
                Ok(SessionRow {
                    id: r.get(0)?,
                    team: r.get(1)?,
                    drill: r.get(2)?,
                    played_at: r.get(3)?,
                    seed: r.get(4)?,
                    score: r.get(5)?,
                    objectives_met: r.get(6)?,
                    objectives_total: r.get(7)?,
                    detect_seconds: r.get(8)?,
                    detect_target_seconds: r.get(9)?,
                    acknowledge_seconds: r.get(10)?,
                    mitigate_seconds: r.get(11)?,
                    mitigate_target_seconds: r.get(12)?,
                    missed: Vec::new(),
                })
            })
            .map_err(|e| self.err(&e))?
            .collect::<Result<_, _>>()
            .map_err(|e| self.err(&e))?;
        let mut missed: HashMap<i64, Vec<String>> = HashMap::new();
        let sql = format!(
            "SELECT o.session_id, 'objective ' || o.name FROM objectives o \
             JOIN sessions s ON s.id = o.session_id {clause} {and} o.met = 0 \
             UNION ALL \
             SELECT t.session_id, 'task ' || t.role || '/' || t.task FROM tasks t \
             JOIN sessions s ON s.id = t.session_id {clause} {and} t.status = 'missed' \
             ORDER BY 1, 2",
            and = if clause.is_empty() { "WHERE" } else { "AND" }
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(&e))?;
        // Both halves use the same numbered parameters.
        let pairs = stmt
            .query_map(rusqlite::params_from_iter(args.iter()), |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(|e| self.err(&e))?;
        for pair in pairs {
            let (id, what) = pair.map_err(|e| self.err(&e))?;
            missed.entry(id).or_default().push(what);
        }
        for row in &mut rows {
            if let Some(m) = missed.remove(&row.id) {
                row.missed = m;
            }
        }
        Ok(rows)
    }

    /// Every task of the sessions `filter` covers, by session and role.
    ///
    /// # Errors
    /// SQLite.
    pub fn tasks(&self, filter: &Filter) -> Result<Vec<TaskRow>, StoreError> {
        let (clause, args) = where_clause(filter);
        let sql = format!(
            "SELECT t.session_id, t.role, t.task, t.status FROM tasks t \
             JOIN sessions s ON s.id = t.session_id {clause} ORDER BY t.session_id, t.role, t.task"
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(&e))?;
        stmt.query_map(rusqlite::params_from_iter(args.iter()), |r| {
            Ok(TaskRow {
                session_id: r.get(0)?,
                role: r.get(1)?,
                task: r.get(2)?,
                status: r.get(3)?,
            })
        })
        .map_err(|e| self.err(&e))?
        .collect::<Result<_, _>>()
        .map_err(|e| self.err(&e))
    }
}

fn where_clause(filter: &Filter) -> (String, Vec<String>) {
    let mut parts = Vec::new();
    let mut args = Vec::new();
    if let Some(team) = &filter.team {
        args.push(team.clone());
        parts.push(format!("s.team = ?{}", args.len()));
    }
    if let Some(drill) = &filter.drill {
        args.push(drill.clone());
        parts.push(format!("s.drill_name = ?{}", args.len()));
    }
    if let Some(since) = &filter.since {
        args.push(since.clone());
        parts.push(format!("s.played_at >= ?{}", args.len()));
    }
    if parts.is_empty() {
        (String::new(), args)
    } else {
        (format!("WHERE {}", parts.join(" AND ")), args)
    }
}

fn insert_figures(tx: &Connection, id: i64, f: &Figures) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO scores (session_id, score, exact, checklist_earned, checklist_possible, \
         objectives_met, objectives_total, worse_than_none, ended_seconds) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            id,
            f.score,
            f.exact,
            f.checklist_earned,
            f.checklist_possible,
            int(f.objectives.iter().filter(|o| o.met).count() as u64),
            int(f.objectives.len() as u64),
            f.worse_than_none,
            f.ended_seconds
        ],
    )?;
    for o in &f.objectives {
        tx.execute(
            "INSERT INTO objectives (session_id, name, target_seconds, actual_seconds, met) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, o.name, o.target_seconds, o.actual_seconds, o.met],
        )?;
    }
    for t in &f.tasks {
        tx.execute(
            "INSERT INTO tasks (session_id, role, task, status, points, earned, done_seconds) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                id,
                t.role,
                t.task,
                t.status,
                t.points,
                t.earned,
                t.done_seconds
            ],
        )?;
    }
    for t in &f.timings {
        tx.execute(
            "INSERT INTO timings (session_id, name, seconds, target_seconds) VALUES (?1, ?2, ?3, ?4)",
            params![id, t.name, t.seconds, t.target_seconds],
        )?;
    }
    let h = &f.harm;
    tx.execute(
        "INSERT INTO harm (session_id, arrived, failed, rejected, degraded, wrong_answers, harmed, \
         page_breach_minutes, no_response_harmed) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            id,
            int(h.arrived),
            int(h.failed),
            int(h.rejected),
            int(h.degraded),
            int(h.wrong_answers),
            int(h.harmed),
            h.page_breach_minutes,
            int(h.no_response_harmed)
        ],
    )?;
    Ok(())
}

/// Runs `f` again while SQLite says the store is busy or locked, for up to [`BUSY_TIMEOUT`].
/// SQLite's busy handler covers most waits, but not all: a connection switching a new store
/// to WAL, or beginning while another recovers the WAL, is told "busy" at once.
fn retry_busy<T>(mut f: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let started = std::time::Instant::now();
    loop {
        match f() {
            Err(e)
                if matches!(
                    e.sqlite_error_code(),
                    Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
                ) && started.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

/// A count as SQLite's signed integer (saturating; no count comes near it).
fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn sqlite(path: &Path, e: &rusqlite::Error) -> StoreError {
    let message = match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt) => {
            return StoreError::NotAStore {
                path: path.to_owned(),
                detail: format!("damaged: {e}"),
            };
        }
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => format!(
            "{e}: another firedrill held it for more than {}s; try again",
            BUSY_TIMEOUT.as_secs()
        ),
        _ => e.to_string(),
    };
    StoreError::Sqlite {
        path: path.to_owned(),
        message,
    }
}

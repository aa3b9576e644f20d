-- firedrill history store, schema 1: each finished session with its transcript, the people
-- in its roles, and the debrief's figures in tables a team can query.
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    -- SHA-256 of the transcript text: the same transcript is recorded once.
    transcript_sha256 TEXT NOT NULL UNIQUE,
    drill_name TEXT NOT NULL,
    drill_sha256 TEXT NOT NULL,
    -- The seed in decimal (a u64 may not fit SQLite's signed integer).
    seed TEXT NOT NULL,
    team TEXT NOT NULL,
    -- When the session was played: RFC 3339 in UTC, `2026-03-02T09:30:00Z`.
    played_at TEXT NOT NULL,
    -- The scoring version the figures below were computed with.
    scoring_version INTEGER NOT NULL,
    -- The full transcript (JSON Lines): every figure can be recomputed from it.
    transcript TEXT NOT NULL
);

CREATE TABLE people (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    person TEXT NOT NULL,
    PRIMARY KEY (session_id, role, person)
);

CREATE TABLE scores (
    session_id INTEGER PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    score INTEGER NOT NULL,
    exact REAL NOT NULL,
    checklist_earned INTEGER NOT NULL,
    checklist_possible INTEGER NOT NULL,
    objectives_met INTEGER NOT NULL,
    objectives_total INTEGER NOT NULL,
    -- 1 when the response did more harm than no response at all (the score is then 0).
    worse_than_none INTEGER NOT NULL,
    ended_seconds REAL NOT NULL
);

CREATE TABLE objectives (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    target_seconds REAL NOT NULL,
    actual_seconds REAL,
    met INTEGER NOT NULL,
    PRIMARY KEY (session_id, name)
);

CREATE TABLE tasks (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    task TEXT NOT NULL,
    -- on_time, late, premature or missed
    status TEXT NOT NULL,
    points INTEGER NOT NULL,
    earned INTEGER NOT NULL,
    done_seconds REAL,
    PRIMARY KEY (session_id, role, task)
);

CREATE TABLE timings (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    -- page, detect, acknowledge, act, diagnose, mitigate, resolve
    name TEXT NOT NULL,
    seconds REAL,
    target_seconds REAL,
    PRIMARY KEY (session_id, name)
);

CREATE TABLE harm (
    session_id INTEGER PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    arrived INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    rejected INTEGER NOT NULL,
    degraded INTEGER NOT NULL,
    wrong_answers INTEGER NOT NULL,
    harmed INTEGER NOT NULL,
    page_breach_minutes REAL NOT NULL,
    no_response_harmed INTEGER NOT NULL
);

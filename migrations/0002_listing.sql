-- firedrill history store, schema 2: indexes for listing by team, drill and date, and a view
-- with one row per session for a team's own queries.
CREATE INDEX sessions_played_at ON sessions (played_at, id);
CREATE INDEX sessions_team ON sessions (team, played_at);
CREATE INDEX sessions_drill ON sessions (drill_name, played_at);

CREATE VIEW session_overview AS
SELECT s.id, s.team, s.drill_name, s.played_at, s.seed,
       sc.score, sc.objectives_met, sc.objectives_total,
       (SELECT seconds FROM timings t WHERE t.session_id = s.id AND t.name = 'detect') AS detect_seconds,
       (SELECT seconds FROM timings t WHERE t.session_id = s.id AND t.name = 'acknowledge') AS acknowledge_seconds,
       (SELECT seconds FROM timings t WHERE t.session_id = s.id AND t.name = 'mitigate') AS mitigate_seconds
FROM sessions s LEFT JOIN scores sc ON sc.session_id = s.id;

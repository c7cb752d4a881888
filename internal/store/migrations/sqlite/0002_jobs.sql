-- The durable job queue (package jobs). Times are Unix milliseconds (UTC).
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,       -- JSON
    dedupe_key   TEXT,
    state        TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    run_at       INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL CHECK (max_attempts > 0),
    locked_by    TEXT,
    locked_until INTEGER,
    last_error   TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    finished_at  INTEGER
) STRICT;

CREATE INDEX jobs_state_run_at ON jobs (state, run_at);
-- One unfinished job per dedupe key; finished ones may repeat it.
CREATE UNIQUE INDEX jobs_dedupe_key ON jobs (dedupe_key) WHERE state IN ('queued', 'running');

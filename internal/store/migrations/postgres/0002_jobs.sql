-- The durable job queue (package jobs).
CREATE TABLE jobs (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,       -- JSON
    dedupe_key   TEXT,
    state        TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    run_at       TIMESTAMPTZ NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL CHECK (max_attempts > 0),
    locked_by    TEXT,
    locked_until TIMESTAMPTZ,
    last_error   TEXT,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    finished_at  TIMESTAMPTZ
);

CREATE INDEX jobs_state_run_at ON jobs (state, run_at);
-- One unfinished job per dedupe key; finished ones may repeat it.
CREATE UNIQUE INDEX jobs_dedupe_key ON jobs (dedupe_key) WHERE state IN ('queued', 'running');

-- Scaffolder tasks (package scaffolder, issue 8): one row per run of a
-- template, with its steps' state so that a task resumes after a crash
-- from its last completed step, and its event log (Backstage's task
-- events). Times are Unix milliseconds (UTC) in both dialects.
CREATE TABLE scaffolder_tasks (
    id                TEXT PRIMARY KEY,
    spec              TEXT NOT NULL,          -- JSON TaskSpecV1beta3
    status            TEXT NOT NULL CHECK (status IN ('open', 'processing', 'completed', 'failed', 'cancelled')),
    created_by        TEXT NOT NULL DEFAULT '',
    created_at        BIGINT NOT NULL,
    last_heartbeat_at BIGINT,
    steps             TEXT NOT NULL,          -- JSON array of step states
    output            TEXT NOT NULL DEFAULT '',
    error             TEXT NOT NULL DEFAULT ''
);

CREATE INDEX scaffolder_tasks_created ON scaffolder_tasks (created_at);
CREATE INDEX scaffolder_tasks_created_by ON scaffolder_tasks (created_by);

CREATE TABLE scaffolder_task_events (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id    TEXT NOT NULL REFERENCES scaffolder_tasks (id) ON DELETE CASCADE,
    event_type TEXT NOT NULL,
    body       TEXT NOT NULL,                 -- JSON
    created_at BIGINT NOT NULL
);

CREATE INDEX scaffolder_task_events_task ON scaffolder_task_events (task_id, id);

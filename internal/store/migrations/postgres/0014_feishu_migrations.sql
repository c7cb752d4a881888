-- Feishu document migrations (package feishu, issue 9): the request, the
-- status and the report (success and failure counts, warnings, generated
-- files, per-document status, and what rollback needs), as JSON.
CREATE TABLE feishu_migrations (
    id         TEXT COLLATE "C" PRIMARY KEY, -- "fm-" and 16 hex digits
    status     TEXT NOT NULL,                -- queued, running, succeeded, partial, failed, rolled_back
    request    JSONB NOT NULL,               -- feishu.Request
    report     JSONB NOT NULL,               -- feishu.Report
    error      TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX feishu_migrations_created ON feishu_migrations (created_at DESC, id DESC);

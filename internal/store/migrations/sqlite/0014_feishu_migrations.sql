-- Feishu document migrations (package feishu, issue 9): the request, the
-- status and the report (success and failure counts, warnings, generated
-- files, per-document status, and what rollback needs), as JSON.
-- Times are Unix milliseconds (UTC).
CREATE TABLE feishu_migrations (
    id         TEXT PRIMARY KEY,        -- "fm-" and 16 hex digits
    status     TEXT NOT NULL,           -- queued, running, succeeded, partial, failed, rolled_back
    request    TEXT NOT NULL,           -- JSON feishu.Request
    report     TEXT NOT NULL,           -- JSON feishu.Report
    error      TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE INDEX feishu_migrations_created ON feishu_migrations (created_at DESC, id DESC);

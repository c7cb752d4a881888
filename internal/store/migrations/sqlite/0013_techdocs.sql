-- The build state of each entity's TechDocs site (internal/techdocs).
-- Times are Unix milliseconds (UTC); NULL when not yet.
CREATE TABLE techdocs_builds (
    entity          TEXT PRIMARY KEY,   -- lowercased ref kind:namespace/name
    status          TEXT NOT NULL,      -- pending, building, success, failed
    source_key      TEXT NOT NULL DEFAULT '',
    started_at      INTEGER,
    finished_at     INTEGER,
    last_success_at INTEGER,
    error           TEXT NOT NULL DEFAULT '',
    log             TEXT NOT NULL DEFAULT '',
    warnings        TEXT NOT NULL DEFAULT '[]', -- JSON array of {file, line, message}
    notified_key    TEXT NOT NULL DEFAULT ''
) STRICT;

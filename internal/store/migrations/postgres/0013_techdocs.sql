-- The build state of each entity's TechDocs site (internal/techdocs).
CREATE TABLE techdocs_builds (
    entity          TEXT COLLATE "C" PRIMARY KEY, -- lowercased ref kind:namespace/name
    status          TEXT NOT NULL,      -- pending, building, success, failed
    source_key      TEXT NOT NULL DEFAULT '',
    started_at      TIMESTAMPTZ,
    finished_at     TIMESTAMPTZ,
    last_success_at TIMESTAMPTZ,
    error           TEXT NOT NULL DEFAULT '',
    log             TEXT NOT NULL DEFAULT '',
    warnings        TEXT NOT NULL DEFAULT '[]', -- JSON array of {file, line, message}
    notified_key    TEXT NOT NULL DEFAULT ''
);

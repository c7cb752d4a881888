-- Catalog entities, one row per entity, replaced per source by the catalog
-- sync. Times are Unix milliseconds (UTC).
CREATE TABLE entities (
    ref        TEXT PRIMARY KEY,      -- lowercased kind:namespace/name
    uid        TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL,
    namespace  TEXT NOT NULL,
    name       TEXT NOT NULL,
    source     TEXT NOT NULL,         -- the location or provider that supplied it
    hash       TEXT NOT NULL,
    body       TEXT NOT NULL,         -- the entity JSON
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE INDEX entities_kind ON entities (lower(kind));
CREATE INDEX entities_source ON entities (source);

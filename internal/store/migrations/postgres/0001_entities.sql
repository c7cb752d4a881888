-- Catalog entities, one row per entity, replaced per source by the catalog
-- sync.
CREATE TABLE entities (
    -- lowercased kind:namespace/name; byte order ("C"), as on SQLite,
    -- whatever the database's collation.
    ref        TEXT COLLATE "C" PRIMARY KEY,
    uid        TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL,
    namespace  TEXT NOT NULL,
    name       TEXT NOT NULL,
    source     TEXT NOT NULL,         -- the location or provider that supplied it
    hash       TEXT NOT NULL,
    body       TEXT NOT NULL,         -- the entity JSON
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX entities_kind ON entities (lower(kind));
CREATE INDEX entities_source ON entities (source);

-- Relations between entities, as the catalog's processing emits them (both
-- directions of each pair), and the catalog sources' last refresh. An
-- entity's stitched relations are the rows whose source_ref is its ref, from
-- whichever catalog source emitted them.
CREATE TABLE relations (
    source_name TEXT NOT NULL,   -- the catalog source whose entity emitted the row
    source_ref  TEXT NOT NULL,
    type        TEXT NOT NULL,
    target_ref  TEXT NOT NULL
) STRICT;

CREATE INDEX relations_source_name ON relations (source_name);
CREATE INDEX relations_source_ref ON relations (source_ref, type, target_ref);

-- One row per catalog source (location, provider, demo): the hash of what it
-- last supplied, so an unchanged source is skipped whole, and its problems.
CREATE TABLE catalog_sources (
    name         TEXT PRIMARY KEY,
    hash         TEXT NOT NULL,
    entity_count INTEGER NOT NULL,
    problems     TEXT NOT NULL,  -- JSON array of processing errors
    refreshed_at INTEGER NOT NULL
) STRICT;

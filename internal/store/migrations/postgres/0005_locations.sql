-- Locations registered through the catalog API (POST /api/catalog/locations).
-- Each becomes a catalog source; app-config locations are not stored here.
CREATE TABLE locations (
    -- a UUID; byte order ("C"), as on SQLite, so that paging by id agrees
    id         TEXT COLLATE "C" PRIMARY KEY,
    type       TEXT NOT NULL,           -- "url" or "file"
    target     TEXT NOT NULL,
    -- The ref of the Location entity generated for the location, kept across
    -- updates of type and target as Backstage keeps it.
    entity_ref TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    -- registration order, for listing oldest first: creation times can tie
    seq        BIGINT NOT NULL UNIQUE,
    UNIQUE (type, target)
);

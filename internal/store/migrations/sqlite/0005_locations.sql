-- Locations registered through the catalog API (POST /api/catalog/locations).
-- Each becomes a catalog source; app-config locations are not stored here.
-- Times are Unix milliseconds (UTC).
CREATE TABLE locations (
    id         TEXT PRIMARY KEY,        -- a UUID
    type       TEXT NOT NULL,           -- "url" or "file"
    target     TEXT NOT NULL,
    -- The ref of the Location entity generated for the location, kept across
    -- updates of type and target as Backstage keeps it.
    entity_ref TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    -- registration order, for listing oldest first: creation times can tie
    seq        INTEGER NOT NULL UNIQUE,
    UNIQUE (type, target)
) STRICT;

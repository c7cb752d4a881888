-- A counter every write transaction that writes the catalog (entities and
-- their search rows) bumps just before it commits, so that
-- readers can tell in their own snapshot whether anything changed since a
-- result was cached (the facet counts of GET /entity-facets). One row; the
-- bump is the transaction's last statement, so the row lock is held only
-- until the commit.
CREATE TABLE catalog_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);

INSERT INTO catalog_version (id, version) VALUES (1, 0);

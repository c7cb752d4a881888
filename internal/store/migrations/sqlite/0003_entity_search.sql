-- The catalog's search index, Backstage's search table: one row per
-- flattened key and value of each entity body (query.BuildSearch), kept in
-- step with entities by ReplaceSourceEntities in the same transaction.
-- Filters, ordering, full-text filters and facets of the catalog API are
-- evaluated here.
--
-- Rows name their entity by a small integer rather than its ref: the index
-- holds some twenty rows per entity, and a short id keeps it a fraction of
-- the size, and new ids append at the end of the per-entity index instead
-- of landing all over it. There are no foreign keys: checking one per row
-- would double the cost of indexing a large catalog, and the store deletes
-- an entity's rows itself.

-- The id of each indexed entity. An entity without a row here has not been
-- indexed yet (it was stored before this migration); the next
-- ReplaceSourceEntities of its source indexes it.
CREATE TABLE entity_search_refs (
    id  INTEGER PRIMARY KEY,
    ref TEXT NOT NULL UNIQUE          -- entities.ref
) STRICT;

-- Deliberately neither STRICT nor NOT NULL: a statement that cannot fail
-- half-way needs no statement journal, and without one the multi-row
-- inserts of a large sync run several times faster. The store writes every
-- row itself.
CREATE TABLE entity_search (
    entity_id      INTEGER,  -- entity_search_refs.id
    key            TEXT,     -- lowercased dot path, e.g. spec.owner
    value          TEXT,     -- lowercased; NULL for null or over-long values
    original_value TEXT      -- as written, for facets; NULL when equal to value
);

-- Filters, ordering and facets: all rows of one key (and value), in value
-- and then entity order, which is the order of ties, so a page ordered by
-- a field is read off the index without sorting. It covers the original
-- text too (NULL, so small, where it equals the value) so that facets count
-- values without reading the table.
CREATE INDEX entity_search_key_value ON entity_search (key, value, entity_id, original_value);
-- One entity's rows: deleting them, testing a condition on a known entity,
-- and (covering) the facet values of a few entities.
CREATE INDEX entity_search_entity ON entity_search (entity_id, key, value, original_value);

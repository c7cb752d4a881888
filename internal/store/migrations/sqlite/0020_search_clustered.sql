-- entity_search becomes a WITHOUT ROWID table clustered by entity and
-- key: its rows are stored in the order of (entity_id, key, seq), seq
-- numbering the rows of one entity. That ordering is what the per-entity
-- index entity_search_entity gave (an entity's rows, and within them one
-- key's, are one range), so the index goes: one fewer copy of every search
-- row (the table and three indexes held four) and one fewer B-tree to
-- maintain per row written. Deleting an entity's rows, testing a condition
-- on a known entity and reading its rows to reindex by difference read
-- that range of the table itself.
--
-- The primary key's columns are never NULL (WITHOUT ROWID enforces it);
-- the store inserts with OR FAIL, so a multi-row insert still needs no
-- statement journal (see 0003).
CREATE TABLE entity_search_clustered (
    entity_id      INTEGER,  -- entity_search_refs.id
    seq            INTEGER,  -- the row's number among its entity's rows
    key            TEXT,
    value          TEXT,
    original_value TEXT,
    kind           TEXT,
    PRIMARY KEY (entity_id, key, seq)
) WITHOUT ROWID;

INSERT INTO entity_search_clustered (entity_id, seq, key, value, original_value, kind)
SELECT entity_id, row_number() OVER (PARTITION BY entity_id ORDER BY rowid) - 1, key, value, original_value, kind
FROM entity_search WHERE entity_id IS NOT NULL AND key IS NOT NULL;

DROP TABLE entity_search;
ALTER TABLE entity_search_clustered RENAME TO entity_search;

CREATE INDEX entity_search_key_value ON entity_search (key, value, entity_id, original_value);
CREATE INDEX entity_search_key_kind ON entity_search (key, kind, value, entity_id, original_value);

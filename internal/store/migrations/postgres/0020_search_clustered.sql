-- SQLite's 0020 clusters entity_search by entity and key (a WITHOUT ROWID table)
-- and drops its per-entity index. PostgreSQL has no clustered tables that
-- stay clustered as rows are written; its heap and entity_search_entity
-- index stay. This version keeps both engines' migrations numbered alike.
SELECT 1;

-- The kind of each search row's entity, and an index by key, kind and
-- value: queries filtered by kind (kind=user ordered by name, the facets
-- or the count of kind=component,spec.type=service) read only that kind's
-- part of a key's rows instead of all of them and testing each entity.
-- The column holds the entity's one non-null kind, lowercased, on every
-- row of the entity; NULL when it has none or several (a kind that is not
-- a string), which the store then does not scope by.
ALTER TABLE entity_search ADD COLUMN kind TEXT;

UPDATE entity_search SET kind = k.kind
FROM (SELECT entity_id, MIN(value) AS kind FROM entity_search
      WHERE key = 'kind' AND value IS NOT NULL GROUP BY entity_id HAVING COUNT(*) = 1) AS k
WHERE entity_search.entity_id = k.entity_id;

-- Covering, as entity_search_key_value is, so that kind-scoped facets and
-- ordered pages are read off the index alone.
CREATE INDEX entity_search_key_kind ON entity_search (key, kind, value, entity_id, original_value);

-- Full-text filters (fullTextFilterTerm) are substring matches, LIKE
-- '%term%', on the lowercased values of the searched keys, which no B-tree
-- can answer: uncached they read every row of those keys (~200 ms at 100k
-- entities). A trigram index (pg_trgm, a trusted extension in
-- postgresql-contrib) finds the rows holding a term of three letters or
-- more from its trigrams. Where the extension cannot be created (no
-- contrib, no CREATE privilege) the store works as before: the block below
-- leaves the extension and the index out, and the store logs it.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm unavailable, full-text filters scan the search rows: %', SQLERRM;
END
$$;

-- Only the keys that full-text filters read by default and that the UI
-- searches (name, title, a user's display name): over every row the GIN
-- build took 61 s at 100k entities (2.4M rows, 81 MB) on a loaded 2-core
-- machine, over these 6.4 s, and a first load builds it again. Terms over
-- other keys keep the probes. The list is trigramKeys in search_dialect.go.
-- The operator class is qualified with the extension's schema, which need
-- not be on the search_path.
DO $$
DECLARE
    ext_schema name;
BEGIN
    SELECT n.nspname INTO ext_schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm';
    IF ext_schema IS NOT NULL THEN
        EXECUTE format('CREATE INDEX IF NOT EXISTS entity_search_value_trgm ON entity_search USING gin (value %I.gin_trgm_ops) WHERE key IN (''metadata.name'', ''metadata.title'', ''spec.profile.displayname'')', ext_schema);
    END IF;
END
$$;

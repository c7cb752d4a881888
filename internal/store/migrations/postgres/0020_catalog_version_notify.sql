-- Every bump of the catalog version notifies the replicas sharing the
-- database (delivered at commit, in commit order), so that each can drop
-- the in-memory read caches it keys by its own change counter
-- (read_cache_version.go). Payload: the new version.
CREATE OR REPLACE FUNCTION greenroom_catalog_version_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('greenroom_catalog_version', NEW.version::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER catalog_version_notify AFTER UPDATE ON catalog_version
    FOR EACH ROW EXECUTE FUNCTION greenroom_catalog_version_notify();

-- The raw inputs of each catalog source's last refresh (every file read,
-- with a digest of its bytes, and a fingerprint of the configuration
-- processing depends on), so that a refresh re-reads just those bytes and
-- skips an unchanged source before parsing it. NULL: the last refresh
-- cannot be skipped that way (a file failed, or it predates this column).
ALTER TABLE catalog_sources ADD COLUMN inputs TEXT;

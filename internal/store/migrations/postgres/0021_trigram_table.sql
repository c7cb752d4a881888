-- SQLite's 0021 gives its full-text filters a trigram index (FTS5), as
-- 0018 gave PostgreSQL's (pg_trgm). Nothing to do here; this version keeps
-- both engines' migrations numbered alike.
SELECT 1;

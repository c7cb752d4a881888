-- PostgreSQL's 0018 adds a trigram index for full-text filters (pg_trgm).
-- SQLite has no such index type; its full-text filters keep probing each
-- entity's own rows. This version keeps both engines' migrations numbered
-- alike.
SELECT 1;

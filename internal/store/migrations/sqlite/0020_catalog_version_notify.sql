-- Nothing to do on SQLite: one process owns the file (the data dir lock),
-- so its own commits are all the changes there are. The version matches
-- PostgreSQL's 0020, which notifies the other replicas of each bump.
SELECT 1;

-- Every job's dedupe key, whatever its state, so that work which must
-- happen once (a webhook delivery) is recognised as handled after it
-- finished, after a restart and on another replica (DedupeKeyHandled).
-- jobs_dedupe_key stays the unique index of the queued and running ones.
CREATE INDEX jobs_dedupe_key_any ON jobs (dedupe_key) WHERE dedupe_key IS NOT NULL;

-- Sign-in state every replica must see but that is worth nothing after a
-- minute or an hour: rate-limit counters (fixed windows) and the successors
-- of just-rotated session ids (auth_shared.go).
-- UNLOGGED: no WAL; a crash empties them, which at worst resets a window or
-- ends a 30 s grace early.
CREATE UNLOGGED TABLE IF NOT EXISTS auth_rate_counters (
    key          TEXT   NOT NULL,
    window_start BIGINT NOT NULL, -- Unix seconds
    n            BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL, -- Unix seconds: purged after
    PRIMARY KEY (key, window_start)
);

CREATE UNLOGGED TABLE IF NOT EXISTS auth_session_successors (
    old_hash   TEXT   PRIMARY KEY,
    new_hash   TEXT   NOT NULL,
    expires_at BIGINT NOT NULL -- Unix milliseconds
);

-- The append-only audit log (package access): who did what to which
-- resource, what was decided and why. Rows are never updated; the retention
-- job deletes old ones. Times are Unix milliseconds (UTC).
CREATE TABLE audit_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    contractor INTEGER NOT NULL,
    action     TEXT NOT NULL,
    resource   TEXT NOT NULL,
    decision   TEXT NOT NULL CHECK (decision IN ('allow', 'deny', '')),
    reason     TEXT NOT NULL,
    request_id TEXT NOT NULL,
    source     TEXT NOT NULL,
    details    TEXT NOT NULL          -- JSON object of strings
) STRICT;

CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_actor ON audit_events (actor, id);
CREATE INDEX audit_events_action ON audit_events (action, id);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;

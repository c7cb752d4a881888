-- Approval requests (package access): an action that needs approval is
-- stored with the payload its executor runs once a request is approved.
CREATE TABLE approvals (
    id          TEXT COLLATE "C" PRIMARY KEY,   -- a UUID
    action      TEXT NOT NULL,
    resource    TEXT NOT NULL,
    owner       TEXT NOT NULL,                  -- the resource's owner ref, who approves
    requester   TEXT NOT NULL,
    executor    TEXT NOT NULL,
    payload     TEXT NOT NULL,                  -- JSON
    reason      TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'executed', 'failed')),
    decided_by  TEXT NOT NULL,
    decision    TEXT NOT NULL,                  -- the approver's comment
    result      TEXT NOT NULL,                  -- the executor's error, if any
    created_at  TIMESTAMPTZ NOT NULL,
    decided_at  TIMESTAMPTZ,
    finished_at TIMESTAMPTZ
);

CREATE INDEX approvals_state ON approvals (state, created_at);

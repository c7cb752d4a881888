-- Sign-in: browser sessions, the state of sign-in flows in progress, and
-- personal access and service tokens. Only SHA-256 hashes (hex) of session
-- ids, flow states and tokens are stored, so a copy of the database lets no
-- one act as a user. Times are timestamptz.
CREATE TABLE auth_sessions (
    id_hash       TEXT PRIMARY KEY,
    user_ref      TEXT NOT NULL,
    provider      TEXT NOT NULL,
    display_name  TEXT NOT NULL DEFAULT '',
    email         TEXT NOT NULL DEFAULT '',
    -- the OIDC refresh token, for /api/auth/oidc/refresh; '' for none
    refresh_token TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMPTZ NOT NULL,
    last_seen_at  TIMESTAMPTZ NOT NULL,
    rotated_at    TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL   -- the absolute timeout
);
CREATE INDEX auth_sessions_user ON auth_sessions (user_ref);

CREATE TABLE auth_flows (
    state_hash TEXT PRIMARY KEY,
    provider   TEXT NOT NULL,
    nonce      TEXT NOT NULL,
    verifier   TEXT NOT NULL,   -- the PKCE code verifier
    return_to  TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE auth_tokens (
    id           TEXT PRIMARY KEY,      -- a UUID, shown in lists and audit
    kind         TEXT NOT NULL,         -- "personal" or "service"
    subject      TEXT NOT NULL,         -- the user ref, or the service name
    name         TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    scopes       TEXT NOT NULL DEFAULT '',  -- space separated; '' = all rights
    created_by   TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);
CREATE INDEX auth_tokens_subject ON auth_tokens (subject);

-- Authentication and authorization (used in `[auth] mode = "token"`).
-- Timestamps are Unix milliseconds.

-- People and robots. A robot is a user without a password: it can only
-- authenticate with access tokens.
CREATE TABLE users (
    name           TEXT PRIMARY KEY NOT NULL,
    password_hash  TEXT,
    created_at     BIGINT NOT NULL
);

-- What a user may do: actions (comma-separated pull,push,delete,admin) on
-- repositories matching a pattern (`*`, `acme/*`, `wasi/http`).
CREATE TABLE grants (
    user_name   TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    pattern     TEXT NOT NULL,
    actions     TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (user_name, pattern)
);

-- Personal and robot access tokens. Only a SHA-256 of the secret is kept;
-- `scopes` optionally narrows the owner's grants (lines "pattern=actions").
CREATE TABLE access_tokens (
    id            TEXT PRIMARY KEY NOT NULL,
    user_name     TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    description   TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL UNIQUE,
    scopes        TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT,
    revoked_at    BIGINT,
    last_used_at  BIGINT
);
CREATE INDEX access_tokens_user ON access_tokens (user_name);

-- Every successful and refused push, delete and admin action.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at          BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    client      TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    status      INTEGER NOT NULL,
    detail      TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);

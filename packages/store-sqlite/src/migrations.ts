/**
 * Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
 * Never edit a shipped migration: add a new one, so existing files upgrade in place.
 */
export const migrations: readonly string[] = [
  `
  CREATE TABLE users (
    id                 TEXT PRIMARY KEY,
    username           TEXT NOT NULL UNIQUE,
    password_hash      TEXT,
    disabled           INTEGER NOT NULL DEFAULT 0,
    token_version      INTEGER NOT NULL DEFAULT 0,
    token_version_at   INTEGER,
    reauth_required_at INTEGER,
    claims             TEXT NOT NULL DEFAULT '{}',
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX users_token_version_at ON users (token_version_at) WHERE token_version_at IS NOT NULL;

  -- A refresh reads and writes one row by primary key: O(1) whatever the table size.
  CREATE TABLE sessions (
    id                  TEXT PRIMARY KEY,
    user_id             TEXT NOT NULL,
    client_id           TEXT NOT NULL,
    device_name         TEXT,
    user_agent          TEXT,
    ip                  TEXT,
    created_at          INTEGER NOT NULL,
    auth_time           INTEGER NOT NULL,
    last_active_at      INTEGER NOT NULL,
    idle_expires_at     INTEGER NOT NULL,
    absolute_expires_at INTEGER,
    token_version       INTEGER NOT NULL,
    generation          INTEGER NOT NULL,
    current_hash        TEXT NOT NULL,
    previous_hash       TEXT,
    rotated_at          INTEGER,
    revoked_at          INTEGER,
    revoked_reason      TEXT
  ) STRICT;
  CREATE INDEX sessions_user ON sessions (user_id, created_at);
  CREATE INDEX sessions_revoked_at ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
  CREATE INDEX sessions_idle_expires_at ON sessions (idle_expires_at);
  CREATE INDEX sessions_absolute_expires_at ON sessions (absolute_expires_at) WHERE absolute_expires_at IS NOT NULL;

  CREATE TABLE events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    type       TEXT NOT NULL,
    user_id    TEXT,
    session_id TEXT,
    at         INTEGER NOT NULL,
    detail     TEXT NOT NULL
  ) STRICT;
  CREATE INDEX events_user ON events (user_id, seq) WHERE user_id IS NOT NULL;
  CREATE INDEX events_session ON events (session_id, seq) WHERE session_id IS NOT NULL;
  CREATE INDEX events_at ON events (at);

  CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY,
    alg         TEXT NOT NULL,
    private_key TEXT NOT NULL,
    public_jwk  TEXT,
    created_at  INTEGER NOT NULL,
    retired_at  INTEGER
  ) STRICT;

  CREATE TABLE secrets (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) STRICT;
  `,
  `
  -- One row that readiness (ping) rewrites: proof that a write still commits.
  CREATE TABLE heartbeat (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    beats INTEGER NOT NULL
  ) STRICT;
  `,
];

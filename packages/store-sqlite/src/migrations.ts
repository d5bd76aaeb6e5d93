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
  // 2: the revocation changelog, and keys published ahead of use.
  `
  -- The revocation changelog (store.ts, readRevocations). AUTOINCREMENT so a seq is never
  -- handed out twice, even after purge deletes the newest rows: a tailer's cursor then
  -- never skips a change.
  CREATE TABLE revocation_changes (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT NOT NULL CHECK (kind IN ('revoked', 'version')),
    user_id    TEXT NOT NULL,
    session_id TEXT,
    version    INTEGER,
    at         INTEGER NOT NULL,
    CHECK ((kind = 'revoked') = (session_id IS NOT NULL) AND (kind = 'version') = (version IS NOT NULL))
  ) STRICT;
  CREATE INDEX revocation_changes_at ON revocation_changes (at);

  -- What the feed's snapshot read from sessions and users until now becomes the start of
  -- the changelog, oldest first, so subscribers lose no recent revocation in the upgrade.
  INSERT INTO revocation_changes (kind, user_id, session_id, version, at)
    SELECT kind, user_id, session_id, version, at FROM (
      SELECT 'revoked' AS kind, user_id, id AS session_id, NULL AS version, revoked_at AS at,
             0 AS source, rowid AS r
        FROM sessions WHERE revoked_at IS NOT NULL
      UNION ALL
      SELECT 'version', id, NULL, token_version, token_version_at, 1, rowid
        FROM users WHERE token_version_at IS NOT NULL
    ) ORDER BY at, source, r;
  DROP INDEX users_token_version_at;
  ALTER TABLE users DROP COLUMN token_version_at;

  -- NULL while a key is the next key. Every key stored so far has signed, from its creation.
  ALTER TABLE signing_keys ADD COLUMN activated_at INTEGER;
  UPDATE signing_keys SET activated_at = created_at;
  `,
  // 3: readiness proves a write commits.
  `
  -- One row that readiness (ping) rewrites: proof that a write still commits.
  CREATE TABLE heartbeat (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    beats INTEGER NOT NULL
  ) STRICT;
  `,
  // 4: users split into subjects (the standing every refresh reads) and accounts (the
  // optional built-in sign-in); user_id becomes subject_id everywhere.
  `
  CREATE TABLE subjects (
    id                 TEXT PRIMARY KEY,
    disabled           INTEGER NOT NULL DEFAULT 0,
    token_version      INTEGER NOT NULL DEFAULT 0,
    reauth_required_at INTEGER,
    claims             TEXT NOT NULL DEFAULT '{}',
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
  ) STRICT;
  CREATE TABLE accounts (
    subject_id    TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
  ) STRICT;
  -- Every user had a username, so every user becomes a subject with an account, same id.
  INSERT INTO subjects (id, disabled, token_version, reauth_required_at, claims, created_at, updated_at)
    SELECT id, disabled, token_version, reauth_required_at, claims, created_at, updated_at FROM users;
  INSERT INTO accounts (subject_id, username, password_hash, created_at, updated_at)
    SELECT id, username, password_hash, created_at, updated_at FROM users;
  DROP TABLE users;

  DROP INDEX sessions_user;
  ALTER TABLE sessions RENAME COLUMN user_id TO subject_id;
  CREATE INDEX sessions_subject ON sessions (subject_id, created_at);

  ALTER TABLE revocation_changes RENAME COLUMN user_id TO subject_id;

  -- The audit log pages newest first by (at, seq): each filter gets an index in that order.
  DROP INDEX events_user;
  DROP INDEX events_session;
  ALTER TABLE events RENAME COLUMN user_id TO subject_id;
  CREATE INDEX events_subject ON events (subject_id, at) WHERE subject_id IS NOT NULL;
  CREATE INDEX events_session ON events (session_id, at) WHERE session_id IS NOT NULL;
  CREATE INDEX events_type ON events (type, at);
  `,
  // 5: one-time handoff codes that start a web session when a browser redeems them.
  `
  -- Keyed by the code's hash; taking one deletes its row (DELETE … RETURNING), so a code redeems once.
  CREATE TABLE handoffs (
    hash          TEXT PRIMARY KEY,
    subject_id    TEXT NOT NULL,
    client_id     TEXT NOT NULL,
    device_name   TEXT,
    token_version INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX handoffs_expires_at ON handoffs (expires_at);
  `,
  // 6: rate-limit counters, shared by every process on the file.
  `
  CREATE TABLE rate_windows (
    key      TEXT PRIMARY KEY,
    count    INTEGER NOT NULL,
    reset_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX rate_windows_reset_at ON rate_windows (reset_at);
  `,
  // 7: each session's grant budget window, checked and counted by the rotation itself
  // (RotateOutcome in @prolong/core); no window yet is a count of 0 and no end.
  `
  ALTER TABLE sessions ADD COLUMN grant_count INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE sessions ADD COLUMN grant_reset_at INTEGER;
  `,
  // 8: sessions bound to a DPoP key (RFC 9449) or a DBSC device key, and single-use
  // claims (DPoP proof ids, DBSC challenges) shared by every process on the file.
  `
  ALTER TABLE sessions ADD COLUMN dpop_jkt TEXT;
  ALTER TABLE sessions ADD COLUMN device_key TEXT;
  CREATE TABLE replay_claims (
    key        TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX replay_claims_expires_at ON replay_claims (expires_at);
  `,
  // 9: what a session knows of its sign-in (acr, amr as a JSON list), who impersonates
  // with it (actor). Session limits read a subject's sessions through sessions_subject.
  `
  ALTER TABLE sessions ADD COLUMN acr TEXT;
  ALTER TABLE sessions ADD COLUMN amr TEXT;
  ALTER TABLE sessions ADD COLUMN actor TEXT;
  `,
  // 10: what a handoff's backend vouched for (acr, amr as a JSON list), for the session it
  // starts. NULL in handoffs made before, and in those the previous release makes.
  `
  ALTER TABLE handoffs ADD COLUMN acr TEXT;
  ALTER TABLE handoffs ADD COLUMN amr TEXT;
  `,
];

/**
 * Schema migrations, applied in order by `migratePostgres`; migration `i` brings the
 * schema to version `i + 1`, and `schema_migrations` records each version applied. Never
 * edit a shipped migration: add a new one, so existing databases upgrade in place.
 *
 * Conventions: times are `bigint` milliseconds since the epoch; ids and other keys are
 * `text COLLATE "C"`, so they compare as code points (the contract orders session ids as
 * strings, whatever the database's default collation); claims and event details are `json`
 * (kept as written, and unlike `jsonb` able to hold a `\u0000` a client sent).
 */
export const migrations: readonly string[] = [
  `
  CREATE TABLE subjects (
    id                 text COLLATE "C" PRIMARY KEY,
    disabled           boolean NOT NULL DEFAULT false,
    token_version      integer NOT NULL DEFAULT 0,
    reauth_required_at bigint,
    claims             json NOT NULL DEFAULT '{}',
    created_at         bigint NOT NULL,
    updated_at         bigint NOT NULL
  );

  CREATE TABLE accounts (
    subject_id    text COLLATE "C" PRIMARY KEY,
    username      text COLLATE "C" NOT NULL UNIQUE,
    password_hash text,
    created_at    bigint NOT NULL,
    updated_at    bigint NOT NULL
  );

  -- No foreign key to subjects: the contract's reads join them, and a session whose
  -- subject is missing reads as missing.
  CREATE TABLE sessions (
    id                  text COLLATE "C" PRIMARY KEY,
    subject_id          text COLLATE "C" NOT NULL,
    client_id           text COLLATE "C" NOT NULL,
    device_name         text,
    user_agent          text,
    ip                  text,
    created_at          bigint NOT NULL,
    auth_time           bigint NOT NULL,
    last_active_at      bigint NOT NULL,
    idle_expires_at     bigint NOT NULL,
    absolute_expires_at bigint,
    token_version       integer NOT NULL,
    generation          integer NOT NULL,
    current_hash        text NOT NULL,
    previous_hash       text,
    rotated_at          bigint,
    revoked_at          bigint,
    revoked_reason      text
  );
  -- Device lists page newest first by (created_at, id): a range read of this index.
  CREATE INDEX sessions_subject ON sessions (subject_id, created_at, id);
  CREATE INDEX sessions_revoked_at ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
  CREATE INDEX sessions_idle_expires_at ON sessions (idle_expires_at);
  CREATE INDEX sessions_absolute_expires_at ON sessions (absolute_expires_at)
    WHERE absolute_expires_at IS NOT NULL;

  -- The revocation changelog (an outbox; store/sessions.ts, readRevocations). The cursor
  -- is seq. An identity column never hands out a value twice, even after purge deletes
  -- the newest rows, so a cursor never skips a later change. Its cache stays at 1: with a
  -- larger cache each connection would draw from its own block of values, and appends
  -- would stop numbering in the order they take the append lock (append_revocation).
  CREATE TABLE revocation_changes (
    seq        bigint GENERATED ALWAYS AS IDENTITY (CACHE 1) PRIMARY KEY,
    kind       text NOT NULL CHECK (kind IN ('revoked', 'version')),
    subject_id text COLLATE "C" NOT NULL,
    session_id text COLLATE "C",
    version    integer,
    at         bigint NOT NULL,
    CHECK ((kind = 'revoked') = (session_id IS NOT NULL) AND (kind = 'version') = (version IS NOT NULL))
  );
  CREATE INDEX revocation_changes_at ON revocation_changes (at, seq);

  -- The audit log pages newest first by (at, seq); each filter leads an index in that order.
  CREATE TABLE events (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id         text COLLATE "C" NOT NULL UNIQUE,
    type       text COLLATE "C" NOT NULL,
    subject_id text COLLATE "C",
    session_id text COLLATE "C",
    at         bigint NOT NULL,
    detail     json NOT NULL
  );
  CREATE INDEX events_at ON events (at, seq);
  CREATE INDEX events_subject ON events (subject_id, at, seq) WHERE subject_id IS NOT NULL;
  CREATE INDEX events_session ON events (session_id, at, seq) WHERE session_id IS NOT NULL;
  CREATE INDEX events_type ON events (type, at, seq);

  CREATE TABLE signing_keys (
    kid          text COLLATE "C" PRIMARY KEY,
    alg          text NOT NULL,
    private_key  text NOT NULL,
    public_jwk   text,
    created_at   bigint NOT NULL,
    activated_at bigint,
    retired_at   bigint
  );

  CREATE TABLE secrets (
    name  text COLLATE "C" PRIMARY KEY,
    value text NOT NULL
  );

  -- One row that readiness (ping) rewrites: proof that a write still commits.
  CREATE TABLE heartbeat (
    id    integer PRIMARY KEY CHECK (id = 1),
    beats bigint NOT NULL
  );

  -- Keyed by the code's hash; taking one deletes its row (DELETE … RETURNING), so a code redeems once.
  CREATE TABLE handoffs (
    hash          text COLLATE "C" PRIMARY KEY,
    subject_id    text COLLATE "C" NOT NULL,
    client_id     text COLLATE "C" NOT NULL,
    device_name   text,
    token_version integer NOT NULL,
    created_at    bigint NOT NULL,
    expires_at    bigint NOT NULL
  );
  CREATE INDEX handoffs_expires_at ON handoffs (expires_at);

  -- Unlogged: rate-limit counters are hints that may be forgotten (store/limits.ts), so
  -- a write to them needs no WAL flush, and a refresh pays one synced commit, not two.
  -- A crash empties the table; a replica does not have it.
  CREATE UNLOGGED TABLE rate_windows (
    key      text COLLATE "C" PRIMARY KEY,
    count    integer NOT NULL,
    reset_at bigint NOT NULL
  );
  CREATE INDEX rate_windows_reset_at ON rate_windows (reset_at);

  -- Appends one change to the changelog, inside the caller's transaction.
  --
  -- Cursor order must be commit order (store/sessions.ts, readRevocations): a reader that
  -- has seen seq 7 must never later find a 6 committed after it. Two transactions drawing
  -- 6 and 7 from the sequence may commit in either order, so appends are serialised: each
  -- takes this schema's transaction-level advisory lock before it draws its seq, and
  -- holds it until it commits. The next appender draws only after that commit, so seq
  -- order is commit order. Only revoking writes append (rare next to refreshes); a
  -- transaction takes the lock as its last step, after its row locks, so lock order is
  -- always rows first and two appenders cannot deadlock.
  --
  -- pg_notify wakes the LISTENing servers (channel prolong_revocations, the schema as
  -- payload); PostgreSQL delivers it on commit, and never for a rollback.
  CREATE FUNCTION append_revocation(p_kind text, p_subject_id text, p_session_id text,
                                    p_version integer, p_at bigint) RETURNS void
  LANGUAGE plpgsql AS $$
  BEGIN
    PERFORM pg_advisory_xact_lock(1886547820, hashtext(current_schema()));
    INSERT INTO revocation_changes (kind, subject_id, session_id, version, at)
      VALUES (p_kind, p_subject_id, p_session_id, p_version, p_at);
    PERFORM pg_notify('prolong_revocations', current_schema());
  END
  $$;

  -- store/sessions.ts, revokeSession: the session and its change commit together.
  CREATE FUNCTION revoke_session(p_id text, p_reason text, p_now bigint) RETURNS SETOF sessions
  LANGUAGE plpgsql AS $$
  DECLARE
    s sessions;
  BEGIN
    UPDATE sessions SET revoked_at = p_now, revoked_reason = p_reason
      WHERE id = p_id AND revoked_at IS NULL RETURNING * INTO s;
    IF FOUND THEN
      PERFORM append_revocation('revoked', s.subject_id, s.id, NULL, p_now);
      RETURN NEXT s;
    END IF;
  END
  $$;

  -- store/sessions.ts, revokeSubjectSessions. Rows are locked in id order, so two bulk
  -- revocations of one subject never deadlock; changes are appended, and rows returned,
  -- in that same order.
  CREATE FUNCTION revoke_subject_sessions(p_subject_id text, p_except_id text, p_reason text,
                                          p_now bigint) RETURNS SETOF sessions
  LANGUAGE plpgsql AS $$
  DECLARE
    revoked sessions[];
    s sessions;
  BEGIN
    WITH locked AS (
      SELECT id FROM sessions
        WHERE subject_id = p_subject_id AND revoked_at IS NULL AND id IS DISTINCT FROM p_except_id
        ORDER BY id FOR NO KEY UPDATE
    ), updated AS (
      UPDATE sessions SET revoked_at = p_now, revoked_reason = p_reason
        WHERE id IN (SELECT id FROM locked) AND revoked_at IS NULL RETURNING sessions AS r
    )
    SELECT coalesce(array_agg(r ORDER BY (r).id), '{}') INTO revoked FROM updated;
    FOREACH s IN ARRAY revoked LOOP
      PERFORM append_revocation('revoked', s.subject_id, s.id, NULL, p_now);
      RETURN NEXT s;
    END LOOP;
  END
  $$;

  -- store/sessions.ts, bumpTokenVersion: the new version and its change commit together.
  CREATE FUNCTION bump_token_version(p_id text, p_now bigint) RETURNS SETOF subjects
  LANGUAGE plpgsql AS $$
  DECLARE
    u subjects;
  BEGIN
    UPDATE subjects SET token_version = token_version + 1, updated_at = p_now
      WHERE id = p_id RETURNING * INTO u;
    IF FOUND THEN
      PERFORM append_revocation('version', u.id, NULL, u.token_version, p_now);
      RETURN NEXT u;
    END IF;
  END
  $$;

  -- The refresh step (store/sessions.ts, RotateOutcome), settled in one call: the
  -- compare-and-set of the presented token against the session's generation and hash,
  -- the revocation on reuse with its changelog entry, and the answer with the session
  -- as it is afterwards and its subject. The row lock is what makes it race-free: every
  -- rotate of one session queues on it, and after the wait READ COMMITTED hands the
  -- newest committed row to the next in line, which decides on that. Fifty tabs
  -- presenting one token therefore give one rotation and 49 replays, and a reuse can
  -- never revoke a session a concurrent rotation just moved on. The checks run in the
  -- order of planRotation (session-rules.ts), the reference for every store.
  CREATE FUNCTION rotate_session(p_id text, p_client_id text, p_generation integer, p_presented text,
                                 p_successor text, p_now bigint, p_grace bigint, p_idle bigint)
    RETURNS json
  LANGUAGE plpgsql AS $$
  DECLARE
    s sessions;
    u subjects;
    outcome text;
  BEGIN
    SELECT * INTO s FROM sessions WHERE id = p_id FOR NO KEY UPDATE;
    -- RFC 6749 §6: a refresh token is bound to its client; another client's presentation
    -- says nothing about the session and touches nothing.
    IF NOT FOUND OR s.client_id <> p_client_id THEN
      RETURN json_build_object('status', 'unknown');
    END IF;
    SELECT * INTO u FROM subjects WHERE id = s.subject_id;
    IF NOT FOUND THEN
      RETURN json_build_object('status', 'unknown');
    END IF;

    IF s.revoked_at IS NOT NULL THEN
      outcome := 'revoked';
    ELSIF p_now >= s.idle_expires_at OR p_now >= coalesce(s.absolute_expires_at, p_now + 1) THEN
      outcome := 'expired';
    ELSIF p_generation = s.generation AND p_presented = s.current_hash THEN
      -- LEAST ignores NULL: no absolute limit, the idle deadline slides freely (P2, P3).
      UPDATE sessions SET previous_hash = current_hash, current_hash = p_successor,
          generation = generation + 1, rotated_at = p_now, last_active_at = p_now,
          idle_expires_at = LEAST(p_now + p_idle, absolute_expires_at)
        WHERE id = p_id RETURNING * INTO s;
      outcome := 'rotated';
    ELSIF p_generation = s.generation - 1 AND p_presented = s.previous_hash
          AND s.rotated_at IS NOT NULL AND p_now - s.rotated_at <= p_grace THEN
      -- P5: the previous token inside the grace window; the successor stays current.
      outcome := 'replayed';
    ELSIF p_generation < s.generation THEN
      -- P4: an older generation is a real token presented again: end the session.
      UPDATE sessions SET revoked_at = p_now, revoked_reason = 'reuse'
        WHERE id = p_id RETURNING * INTO s;
      PERFORM append_revocation('revoked', s.subject_id, s.id, NULL, p_now);
      outcome := 'reused';
    ELSE
      RETURN json_build_object('status', 'unknown');
    END IF;
    RETURN json_build_object('status', outcome, 'session', row_to_json(s), 'subject', row_to_json(u));
  END
  $$;

  -- store/keys.ts, promoteKey. A table lock that conflicts with itself makes racing
  -- promotions take turns; each then checks what it saw against what is committed.
  CREATE FUNCTION promote_key(p_next text, p_active text, p_now bigint) RETURNS boolean
  LANGUAGE plpgsql AS $$
  DECLARE
    active text[];
  BEGIN
    LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE;
    IF NOT EXISTS (SELECT 1 FROM signing_keys
                   WHERE kid = p_next AND activated_at IS NULL AND retired_at IS NULL) THEN
      RETURN false;
    END IF;
    active := ARRAY(SELECT kid FROM signing_keys WHERE activated_at IS NOT NULL AND retired_at IS NULL);
    IF (p_active IS NULL AND cardinality(active) > 0)
       OR (p_active IS NOT NULL AND NOT (p_active = ANY (active))) THEN
      RETURN false;
    END IF;
    UPDATE signing_keys SET retired_at = p_now WHERE activated_at IS NOT NULL AND retired_at IS NULL;
    UPDATE signing_keys SET activated_at = p_now WHERE kid = p_next;
    RETURN true;
  END
  $$;
  `,
  `
  -- rotate_session again, with stragglers (docs/protocol.md, "Rotation: replays and
  -- stragglers"): the token two generations behind, inside the grace window of the latest
  -- rotation, answers 'overtaken' and writes nothing, where it used to revoke as a reuse.
  -- Same signature and lock; the checks still run in the order of planRotation.
  CREATE OR REPLACE FUNCTION rotate_session(p_id text, p_client_id text, p_generation integer,
                                            p_presented text, p_successor text, p_now bigint,
                                            p_grace bigint, p_idle bigint)
    RETURNS json
  LANGUAGE plpgsql AS $$
  DECLARE
    s sessions;
    u subjects;
    outcome text;
  BEGIN
    SELECT * INTO s FROM sessions WHERE id = p_id FOR NO KEY UPDATE;
    -- RFC 6749 §6: a refresh token is bound to its client; another client's presentation
    -- says nothing about the session and touches nothing.
    IF NOT FOUND OR s.client_id <> p_client_id THEN
      RETURN json_build_object('status', 'unknown');
    END IF;
    SELECT * INTO u FROM subjects WHERE id = s.subject_id;
    IF NOT FOUND THEN
      RETURN json_build_object('status', 'unknown');
    END IF;

    IF s.revoked_at IS NOT NULL THEN
      outcome := 'revoked';
    ELSIF p_now >= s.idle_expires_at OR p_now >= coalesce(s.absolute_expires_at, p_now + 1) THEN
      outcome := 'expired';
    ELSIF p_generation = s.generation AND p_presented = s.current_hash THEN
      -- LEAST ignores NULL: no absolute limit, the idle deadline slides freely (P2, P3).
      UPDATE sessions SET previous_hash = current_hash, current_hash = p_successor,
          generation = generation + 1, rotated_at = p_now, last_active_at = p_now,
          idle_expires_at = LEAST(p_now + p_idle, absolute_expires_at)
        WHERE id = p_id RETURNING * INTO s;
      outcome := 'rotated';
    ELSIF p_generation = s.generation - 1 AND p_presented = s.previous_hash
          AND s.rotated_at IS NOT NULL AND p_now - s.rotated_at <= p_grace THEN
      -- P5: the previous token inside the grace window; the successor stays current.
      outcome := 'replayed';
    ELSIF p_generation = s.generation - 2
          AND s.rotated_at IS NOT NULL AND p_now - s.rotated_at <= p_grace THEN
      -- A straggler: no hash of it is kept, the engine checked its MAC and its chain.
      outcome := 'overtaken';
    ELSIF p_generation < s.generation THEN
      -- P4: an older generation is a real token presented again: end the session.
      UPDATE sessions SET revoked_at = p_now, revoked_reason = 'reuse'
        WHERE id = p_id RETURNING * INTO s;
      PERFORM append_revocation('revoked', s.subject_id, s.id, NULL, p_now);
      outcome := 'reused';
    ELSE
      RETURN json_build_object('status', 'unknown');
    END IF;
    RETURN json_build_object('status', outcome, 'session', row_to_json(s), 'subject', row_to_json(u));
  END
  $$;
  `,
  `
  -- Each session's grant budget window, checked and counted by rotate_session itself
  -- (RotateOutcome in @prolong/core: one round trip per refresh, racing refreshes counted
  -- exactly under the row lock). No window yet is a count of 0 and no end.
  ALTER TABLE sessions ADD COLUMN grant_count integer NOT NULL DEFAULT 0;
  ALTER TABLE sessions ADD COLUMN grant_reset_at bigint;

  -- rotate_session with the budget (p_max grants per p_window ms; a NULL p_max checks
  -- and counts nothing). Under the row lock, before anything else: a running window that
  -- counts p_max already answers 'limited' and writes nothing. Otherwise the checks of
  -- planRotation decide, and every outcome but 'replayed' counts one grant (planGrant,
  -- countGrant and spendsGrant in session-rules.ts), 'unknown' too while the row exists.
  -- An overload: the eight-argument one stays for instances of the previous release,
  -- which keep serving on a newer schema during a roll-out.
  CREATE FUNCTION rotate_session(p_id text, p_client_id text, p_generation integer,
                                 p_presented text, p_successor text, p_now bigint,
                                 p_grace bigint, p_idle bigint, p_max integer, p_window bigint)
    RETURNS json
  LANGUAGE plpgsql AS $$
  DECLARE
    s sessions;
    u subjects;
    outcome text;
    running boolean;
  BEGIN
    SELECT * INTO s FROM sessions WHERE id = p_id FOR NO KEY UPDATE;
    IF NOT FOUND THEN
      RETURN json_build_object('status', 'unknown');
    END IF;
    running := s.grant_reset_at IS NOT NULL AND p_now < s.grant_reset_at;
    IF p_max IS NOT NULL AND running AND s.grant_count >= p_max THEN
      RETURN json_build_object('status', 'limited', 'resetAt', s.grant_reset_at);
    END IF;

    SELECT * INTO u FROM subjects WHERE id = s.subject_id;
    -- RFC 6749 §6: a refresh token is bound to its client; another client's presentation
    -- says nothing about the session and touches nothing but its budget.
    IF NOT FOUND OR s.client_id <> p_client_id THEN
      outcome := 'unknown';
    ELSIF s.revoked_at IS NOT NULL THEN
      outcome := 'revoked';
    ELSIF p_now >= s.idle_expires_at OR p_now >= coalesce(s.absolute_expires_at, p_now + 1) THEN
      outcome := 'expired';
    ELSIF p_generation = s.generation AND p_presented = s.current_hash THEN
      -- LEAST ignores NULL: no absolute limit, the idle deadline slides freely (P2, P3).
      UPDATE sessions SET previous_hash = current_hash, current_hash = p_successor,
          generation = generation + 1, rotated_at = p_now, last_active_at = p_now,
          idle_expires_at = LEAST(p_now + p_idle, absolute_expires_at)
        WHERE id = p_id RETURNING * INTO s;
      outcome := 'rotated';
    ELSIF p_generation = s.generation - 1 AND p_presented = s.previous_hash
          AND s.rotated_at IS NOT NULL AND p_now - s.rotated_at <= p_grace THEN
      -- P5: the previous token inside the grace window; the successor stays current.
      outcome := 'replayed';
    ELSIF p_generation = s.generation - 2
          AND s.rotated_at IS NOT NULL AND p_now - s.rotated_at <= p_grace THEN
      -- A straggler: no hash of it is kept, the engine checked its MAC and its chain.
      outcome := 'overtaken';
    ELSIF p_generation < s.generation THEN
      -- P4: an older generation is a real token presented again: end the session.
      UPDATE sessions SET revoked_at = p_now, revoked_reason = 'reuse'
        WHERE id = p_id RETURNING * INTO s;
      PERFORM append_revocation('revoked', s.subject_id, s.id, NULL, p_now);
      outcome := 'reused';
    ELSE
      outcome := 'unknown';
    END IF;

    IF p_max IS NOT NULL AND outcome <> 'replayed' THEN
      UPDATE sessions SET
          grant_count = CASE WHEN running THEN grant_count + 1 ELSE 1 END,
          grant_reset_at = CASE WHEN running THEN grant_reset_at ELSE p_now + p_window END
        WHERE id = p_id;
    END IF;
    IF outcome = 'unknown' THEN
      RETURN json_build_object('status', 'unknown');
    END IF;
    RETURN json_build_object('status', outcome, 'session', row_to_json(s), 'subject', row_to_json(u));
  END
  $$;

  -- store/sessions.ts, touchSession with a budget: under the row lock, a running window
  -- that counts p_max already answers 'limited' and writes nothing; a live session is
  -- touched and counts one grant; a missing, revoked or expired one answers 'unknown'.
  CREATE FUNCTION touch_session(p_id text, p_now bigint, p_idle bigint, p_max integer, p_window bigint)
    RETURNS json
  LANGUAGE plpgsql AS $$
  DECLARE
    s sessions;
    running boolean;
  BEGIN
    SELECT * INTO s FROM sessions WHERE id = p_id FOR NO KEY UPDATE;
    IF NOT FOUND THEN
      RETURN json_build_object('status', 'unknown');
    END IF;
    running := s.grant_reset_at IS NOT NULL AND p_now < s.grant_reset_at;
    IF running AND s.grant_count >= p_max THEN
      RETURN json_build_object('status', 'limited', 'resetAt', s.grant_reset_at);
    END IF;
    IF s.revoked_at IS NOT NULL OR p_now >= s.idle_expires_at
       OR p_now >= coalesce(s.absolute_expires_at, p_now + 1) THEN
      RETURN json_build_object('status', 'unknown');
    END IF;
    UPDATE sessions SET last_active_at = p_now,
        idle_expires_at = LEAST(p_now + p_idle, absolute_expires_at),
        grant_count = CASE WHEN running THEN grant_count + 1 ELSE 1 END,
        grant_reset_at = CASE WHEN running THEN grant_reset_at ELSE p_now + p_window END
      WHERE id = p_id RETURNING * INTO s;
    RETURN json_build_object('status', 'touched', 'session', row_to_json(s));
  END
  $$;
  `,
  `
  -- Sessions bound to a key: dpop_jkt, the RFC 7638 thumbprint of the DPoP key (RFC 9449)
  -- its refresh tokens are bound to, set at creation; device_key, the public key a browser
  -- registered for Device Bound Session Credentials, set once by register_device_key.
  ALTER TABLE sessions ADD COLUMN dpop_jkt text;
  ALTER TABLE sessions ADD COLUMN device_key text;

  -- Single-use claims (DPoP proof ids, DBSC challenges; store/replay.ts), shared by every
  -- instance. Logged, unlike rate_windows: a claim forgotten in a crash would let its key
  -- be used twice, so it is no hint. A claim is one upsert that takes a free or expired key.
  CREATE TABLE replay_claims (
    key        text COLLATE "C" PRIMARY KEY,
    expires_at bigint NOT NULL
  );
  CREATE INDEX replay_claims_expires_at ON replay_claims (expires_at);

  -- rotate_session with the key checks (p_proof_jkt: the thumbprint of the DPoP proof that
  -- came, NULL for none; p_device_bound: a valid DBSC bound cookie came), after revoked
  -- and expired and before the token, in the order of planRotation: a session bound to a
  -- DPoP key presented without a proof of that key is revoked ('key_mismatch') with its
  -- changelog entry → 'mismatched'; a session with a device key presented without its
  -- bound cookie → 'unbound', nothing written. Both count a grant.
  CREATE FUNCTION rotate_session(p_id text, p_client_id text, p_generation integer,
                                 p_presented text, p_successor text, p_now bigint,
                                 p_grace bigint, p_idle bigint, p_max integer, p_window bigint,
                                 p_proof_jkt text, p_device_bound boolean)
    RETURNS json
  LANGUAGE plpgsql AS $$
  DECLARE
    s sessions;
    u subjects;
    outcome text;
    running boolean;
  BEGIN
    SELECT * INTO s FROM sessions WHERE id = p_id FOR NO KEY UPDATE;
    IF NOT FOUND THEN
      RETURN json_build_object('status', 'unknown');
    END IF;
    running := s.grant_reset_at IS NOT NULL AND p_now < s.grant_reset_at;
    IF p_max IS NOT NULL AND running AND s.grant_count >= p_max THEN
      RETURN json_build_object('status', 'limited', 'resetAt', s.grant_reset_at);
    END IF;

    SELECT * INTO u FROM subjects WHERE id = s.subject_id;
    -- RFC 6749 §6: a refresh token is bound to its client; another client's presentation
    -- says nothing about the session and touches nothing but its budget.
    IF NOT FOUND OR s.client_id <> p_client_id THEN
      outcome := 'unknown';
    ELSIF s.revoked_at IS NOT NULL THEN
      outcome := 'revoked';
    ELSIF p_now >= s.idle_expires_at OR p_now >= coalesce(s.absolute_expires_at, p_now + 1) THEN
      outcome := 'expired';
    ELSIF s.dpop_jkt IS NOT NULL AND p_proof_jkt IS DISTINCT FROM s.dpop_jkt THEN
      -- RFC 9449 §5: a bound token shown without its key was stolen; end the session.
      UPDATE sessions SET revoked_at = p_now, revoked_reason = 'key_mismatch'
        WHERE id = p_id RETURNING * INTO s;
      PERFORM append_revocation('revoked', s.subject_id, s.id, NULL, p_now);
      outcome := 'mismatched';
    ELSIF s.device_key IS NOT NULL AND p_device_bound IS NOT TRUE THEN
      -- DBSC: no bound cookie may be our failure or the browser's; sign no one out for it.
      outcome := 'unbound';
    ELSIF p_generation = s.generation AND p_presented = s.current_hash THEN
      -- LEAST ignores NULL: no absolute limit, the idle deadline slides freely (P2, P3).
      UPDATE sessions SET previous_hash = current_hash, current_hash = p_successor,
          generation = generation + 1, rotated_at = p_now, last_active_at = p_now,
          idle_expires_at = LEAST(p_now + p_idle, absolute_expires_at)
        WHERE id = p_id RETURNING * INTO s;
      outcome := 'rotated';
    ELSIF p_generation = s.generation - 1 AND p_presented = s.previous_hash
          AND s.rotated_at IS NOT NULL AND p_now - s.rotated_at <= p_grace THEN
      -- P5: the previous token inside the grace window; the successor stays current.
      outcome := 'replayed';
    ELSIF p_generation = s.generation - 2
          AND s.rotated_at IS NOT NULL AND p_now - s.rotated_at <= p_grace THEN
      -- A straggler: no hash of it is kept, the engine checked its MAC and its chain.
      outcome := 'overtaken';
    ELSIF p_generation < s.generation THEN
      -- P4: an older generation is a real token presented again: end the session.
      UPDATE sessions SET revoked_at = p_now, revoked_reason = 'reuse'
        WHERE id = p_id RETURNING * INTO s;
      PERFORM append_revocation('revoked', s.subject_id, s.id, NULL, p_now);
      outcome := 'reused';
    ELSE
      outcome := 'unknown';
    END IF;

    IF p_max IS NOT NULL AND outcome <> 'replayed' THEN
      UPDATE sessions SET
          grant_count = CASE WHEN running THEN grant_count + 1 ELSE 1 END,
          grant_reset_at = CASE WHEN running THEN grant_reset_at ELSE p_now + p_window END
        WHERE id = p_id;
    END IF;
    IF outcome IN ('unknown', 'unbound') THEN
      RETURN json_build_object('status', outcome);
    END IF;
    RETURN json_build_object('status', outcome, 'session', row_to_json(s), 'subject', row_to_json(u));
  END
  $$;

  -- The previous releases' signatures stay callable during a roll-out, but now through the
  -- one above: they bring no proof and no bound cookie, so a bound session they are asked
  -- to refresh fails closed (revoked as key_mismatch, or refused as unbound), never rotates
  -- without its key. Bind sessions (DPoP, DBSC) once every instance runs this release.
  CREATE OR REPLACE FUNCTION rotate_session(p_id text, p_client_id text, p_generation integer,
                                            p_presented text, p_successor text, p_now bigint,
                                            p_grace bigint, p_idle bigint, p_max integer,
                                            p_window bigint)
    RETURNS json
  LANGUAGE sql AS $$
    SELECT rotate_session(p_id, p_client_id, p_generation, p_presented, p_successor, p_now,
                          p_grace, p_idle, p_max, p_window, NULL::text, false)
  $$;
  CREATE OR REPLACE FUNCTION rotate_session(p_id text, p_client_id text, p_generation integer,
                                            p_presented text, p_successor text, p_now bigint,
                                            p_grace bigint, p_idle bigint)
    RETURNS json
  LANGUAGE sql AS $$
    SELECT rotate_session(p_id, p_client_id, p_generation, p_presented, p_successor, p_now,
                          p_grace, p_idle, NULL::integer, NULL::bigint, NULL::text, false)
  $$;

  -- store/sessions.ts, registerDeviceKey: under the row lock, so of racing registrations
  -- one sets the key and the others find it taken.
  CREATE FUNCTION register_device_key(p_id text, p_key text, p_now bigint) RETURNS text
  LANGUAGE plpgsql AS $$
  DECLARE
    s sessions;
  BEGIN
    SELECT * INTO s FROM sessions WHERE id = p_id FOR NO KEY UPDATE;
    IF NOT FOUND OR s.revoked_at IS NOT NULL OR p_now >= s.idle_expires_at
       OR p_now >= coalesce(s.absolute_expires_at, p_now + 1) THEN
      RETURN 'missing';
    END IF;
    IF s.device_key IS NOT NULL THEN
      RETURN 'taken';
    END IF;
    UPDATE sessions SET device_key = p_key WHERE id = p_id;
    RETURN 'registered';
  END
  $$;
  `,
  `
  -- What a session knows of its sign-in: acr (RFC 9068 §2.2.1) and amr (RFC 8176, the JSON
  -- text of its list, as @prolong/core/sql-rows writes it), and actor, the administrator
  -- impersonating its subject (RFC 8693 §4.1). NULL for every session before this version.
  ALTER TABLE sessions ADD COLUMN acr text;
  ALTER TABLE sessions ADD COLUMN amr text;
  ALTER TABLE sessions ADD COLUMN actor text COLLATE "C";

  -- store/sessions.ts, createSession with a SessionLimit (p_max NULL: none): the subject's
  -- row locked FOR UPDATE first, so limited creations of one subject, from any instance,
  -- count one after another; then the subject's own live sessions of the limit's clients
  -- are counted at the new one's created_at, and at the limit either nothing is written
  -- ('refused') or the least recently active are revoked ('evicted', ties by id) with
  -- their changelog entries before the insert. A duplicate id rolls all of it back.
  -- p_session holds the columns of sessionToRow (sql-rows), so the insert names them.
  CREATE FUNCTION create_session(p_session json, p_max integer, p_client_ids text[],
                                 p_on_limit text) RETURNS json
  LANGUAGE plpgsql AS $$
  DECLARE
    n sessions := json_populate_record(NULL::sessions, p_session);
    live integer := 0;
    v sessions;
    evicted text[] := '{}';
  BEGIN
    IF p_max IS NOT NULL THEN
      PERFORM 1 FROM subjects WHERE id = n.subject_id FOR UPDATE;
      SELECT count(*) INTO live FROM sessions
        WHERE subject_id = n.subject_id AND actor IS NULL AND client_id = ANY (p_client_ids)
          AND revoked_at IS NULL AND idle_expires_at > n.created_at
          AND (absolute_expires_at IS NULL OR absolute_expires_at > n.created_at);
      IF live >= p_max AND p_on_limit = 'refuse' THEN
        RETURN json_build_object('status', 'refused', 'live', live);
      END IF;
      IF live >= p_max THEN
        FOR v IN SELECT * FROM sessions
            WHERE subject_id = n.subject_id AND actor IS NULL AND client_id = ANY (p_client_ids)
              AND revoked_at IS NULL AND idle_expires_at > n.created_at
              AND (absolute_expires_at IS NULL OR absolute_expires_at > n.created_at)
            ORDER BY last_active_at, id LIMIT live - p_max + 1 LOOP
          UPDATE sessions SET revoked_at = n.created_at, revoked_reason = 'evicted' WHERE id = v.id;
          PERFORM append_revocation('revoked', v.subject_id, v.id, NULL, n.created_at);
          evicted := evicted || v.id;
        END LOOP;
      END IF;
    END IF;
    INSERT INTO sessions (
      id, subject_id, client_id, device_name, user_agent, ip, created_at,
      auth_time, last_active_at, idle_expires_at, absolute_expires_at,
      token_version, generation, current_hash, previous_hash, rotated_at,
      revoked_at, revoked_reason, dpop_jkt, device_key, acr, amr, actor)
    SELECT
      id, subject_id, client_id, device_name, user_agent, ip, created_at,
      auth_time, last_active_at, idle_expires_at, absolute_expires_at,
      token_version, generation, current_hash, previous_hash, rotated_at,
      revoked_at, revoked_reason, dpop_jkt, device_key, acr, amr, actor
    FROM json_populate_record(NULL::sessions, p_session);
    RETURN json_build_object('status', 'created', 'evicted', to_json(evicted));
  END
  $$;
  `,
  `
  -- What a handoff's backend vouched for: acr (RFC 9068 §2.2.1) and amr (RFC 8176, the JSON
  -- text of its list, as in sessions), for the session its redemption starts. Nullable,
  -- so the previous release's INSERT (its own columns) and DELETE … RETURNING * go on
  -- working during a roll-out: its handoffs carry neither, as they did.
  ALTER TABLE handoffs ADD COLUMN acr text;
  ALTER TABLE handoffs ADD COLUMN amr text;
  `,
];

/** The schema version this code needs: every migration applied. */
export const SCHEMA_VERSION = migrations.length;

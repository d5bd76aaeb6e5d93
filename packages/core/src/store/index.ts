/**
 * The storage contract of prolong, split by concern as a backend implements it:
 *
 * - {@link SessionStore}: sessions, their subjects' standing and the revocation
 *   changelog, everything a refresh touches, so one backend settles a refresh in one
 *   round trip;
 * - {@link AccountStore}: the optional built-in username/password accounts;
 * - {@link KeyStore}: signing keys and server secrets;
 * - {@link AuditLog}: security events;
 * - {@link RateLimitStore}: rate-limit counters, shared by every instance on the store;
 * - {@link ReplayStore}: single-use claims (DPoP proof ids, DBSC challenges), shared likewise.
 *
 * A deployment may take each concern from a different backend (sessions in Redis,
 * accounts and keys in PostgreSQL). Every backend passes `@prolong/store-conformance`.
 *
 * Rules for every operation: it is domain-shaped and atomic (one statement, transaction
 * or script in its backend), so races between server instances are settled in the
 * store, never in the engine. Times are milliseconds since the epoch, always passed in
 * by the caller (stores never read a clock). Expected misses return `null` or an
 * outcome value and never throw. When the backend itself cannot serve (locked, out of
 * space, read-only, unreachable) an operation rejects with a `ProlongError` of code
 * `store_unavailable`, so callers answer "try again later" and never treat it as a bad
 * credential. Where the contract says "newest first", ties between equal times come in
 * any order: no backend's insertion order is part of the contract.
 */

import type { AccountStore } from "./accounts.js";
import type { AuditLog } from "./audit.js";
import type { KeyStore } from "./keys.js";
import type { RateLimitStore } from "./limits.js";
import type { ReplayStore } from "./replay.js";
import type { SessionStore } from "./sessions.js";

export type { AccountPatch, AccountRecord, AccountStore, NewAccount } from "./accounts.js";
export type { AuditLog, AuditPage, AuditQuery, SecurityEvent } from "./audit.js";
export type { KeyPromotion, KeyStore, PrivateKeyChange, StoredKey } from "./keys.js";
export type { RateLimitStore, RateWindow } from "./limits.js";
export type { ReplayStore } from "./replay.js";
export type {
  CreateSessionOutcome,
  GrantBudget,
  GrantRefusal,
  HandoffRecord,
  RevocationChange,
  RevocationPage,
  RevocationRead,
  RevokeReason,
  RotateOutcome,
  RotateRequest,
  SessionLimit,
  SessionListOptions,
  SessionRecord,
  SessionStore,
  StepUp,
  SubjectPatch,
  SubjectRecord,
} from "./sessions.js";

/** Everything the engine stores, one concern per member. */
export interface Store {
  readonly sessions: SessionStore;
  readonly accounts: AccountStore;
  readonly keys: KeyStore;
  readonly audit: AuditLog;
  readonly limits: RateLimitStore;
  readonly replay: ReplayStore;
  /**
   * Readiness: resolves when every concern can serve requests, writes included, and
   * rejects (`store_unavailable`) otherwise. It commits a real, cheap write (a heartbeat
   * no other operation sees), because a store that still reads but cannot write fails
   * every sign-in and refresh.
   */
  ping(): Promise<void>;
  close(): Promise<void>;
}

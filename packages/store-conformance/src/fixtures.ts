import type {
  AccountStore,
  AuditLog,
  KeyStore,
  RateLimitStore,
  ReplayStore,
  RotateRequest,
  SessionRecord,
  SessionStore,
} from "@prolong/core";

/**
 * What the suite tests: a whole `Store`, or a backend that implements only some of its
 * concerns (sessions in Redis, say). Only the concerns the suite is told to run must be there.
 */
export interface StoreUnderTest {
  sessions?: SessionStore;
  accounts?: AccountStore;
  keys?: KeyStore;
  audit?: AuditLog;
  limits?: RateLimitStore;
  replay?: ReplayStore;
  ping?(): Promise<void>;
  close(): Promise<void>;
}

/** What a store's test file hands the suite: a fresh, empty store per test. */
export type StoreFactory = () => Promise<{ store: StoreUnderTest; cleanup?: () => Promise<void> }>;

/** The parts of the suite, one per concern of the store contract, and readiness (`ping`). */
export type Concern = "sessions" | "accounts" | "keys" | "audit" | "limits" | "replay" | "readiness";

export const T0 = Date.UTC(2026, 0, 1);
export const MINUTE = 60_000;
export const DAY = 86_400_000;

let counter = 0;

/** Ids are unique across the whole run so stores that outlive a test never collide. */
export function uniqueId(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter.toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

export function sessionRecord(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id: uniqueId("s"),
    subjectId: "subject-1",
    clientId: "web",
    deviceName: "laptop",
    userAgent: "Mozilla/5.0",
    ip: "192.0.2.1",
    createdAt: T0,
    authTime: T0,
    lastActiveAt: T0,
    idleExpiresAt: T0 + 7 * DAY,
    absoluteExpiresAt: T0 + 30 * DAY,
    tokenVersion: 0,
    generation: 0,
    currentHash: "hash-0",
    previousHash: null,
    rotatedAt: null,
    revokedAt: null,
    revokedReason: null,
    dpopJkt: null,
    deviceKey: null,
    acr: null,
    amr: null,
    actor: null,
    ...overrides,
  };
}

/** The rotation grace (docs/protocol.md, "Rotation: replays and stragglers") of `rotateRequest`. */
export const GRACE = 30_000;
/** The idle timeout of `rotateRequest`. */
export const IDLE = 7 * DAY;

/**
 * A rotation as the engine asks for it: the session's current token presented one minute
 * after T0, the successor named after the next generation; `overrides` for the case under test.
 */
export function rotateRequest(session: SessionRecord, overrides: Partial<RotateRequest> = {}): RotateRequest {
  return {
    sessionId: session.id,
    clientId: session.clientId,
    generation: session.generation,
    presentedHash: session.currentHash,
    successorHash: `hash-${session.generation + 1}`,
    now: T0 + MINUTE,
    graceMs: GRACE,
    idleTimeoutMs: IDLE,
    ...overrides,
  };
}

/** Stores sessions as the engine does: their subject ensured first (the contract's precondition). */
export async function addSessions(store: SessionStore, ...sessions: SessionRecord[]): Promise<void> {
  for (const session of sessions) {
    await store.ensureSubject(session.subjectId, session.createdAt);
    await store.createSession(session);
  }
}

/** Runs `body` with a fresh store and always closes and cleans up. */
export async function withStore<T>(
  factory: StoreFactory,
  body: (store: StoreUnderTest) => Promise<T>,
): Promise<T> {
  const { store, cleanup } = await factory();
  try {
    return await body(store);
  } finally {
    await store.close();
    await cleanup?.();
  }
}

type Concerns = Required<
  Pick<StoreUnderTest, "sessions" | "accounts" | "keys" | "audit" | "limits" | "replay">
>;

/** The one concern a test is about, from a fresh store; a store without it fails the test. */
export async function withConcern<K extends keyof Concerns, T>(
  factory: StoreFactory,
  concern: K,
  body: (store: Concerns[K]) => Promise<T>,
): Promise<T> {
  return withStore(factory, async (store) => {
    const part = store[concern];
    if (!part) throw new Error(`the store under test has no ${concern} concern`);
    return body(part as Concerns[K]);
  });
}

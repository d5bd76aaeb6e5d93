import type { SessionRecord, SessionStore } from "@prolong/core";

/** What a store's test file hands the suite: a fresh, empty store per test. */
export type StoreFactory = () => Promise<{ store: SessionStore; cleanup?: () => Promise<void> }>;

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
    userId: "user-1",
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
    ...overrides,
  };
}

/** Runs `body` with a fresh store and always cleans up. */
export async function withStore<T>(
  factory: StoreFactory,
  body: (store: SessionStore) => Promise<T>,
): Promise<T> {
  const { store, cleanup } = await factory();
  try {
    return await body(store);
  } finally {
    await store.close();
    await cleanup?.();
  }
}

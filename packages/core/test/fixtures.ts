import { type EngineEvent, type EngineOptions, SessionEngine } from "@prolong/core";
import { afterEach } from "vitest";
import { openTestStore, parseStoreKinds, type StoreKind, type TestStore } from "../../../testing/stores.js";

/**
 * The store this run uses: vitest.config.ts makes one project per kind and sets
 * `PROLONG_TEST_STORE` in each, so every engine test runs against every store.
 * Memory when the variable is unset (a file run under another configuration).
 */
export const storeKind: StoreKind = parseStoreKinds(process.env.PROLONG_TEST_STORE)[0] ?? "memory";

const opened: TestStore[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()));
});

/** A fresh, empty store of this run's kind, closed (and its files removed) after the test. */
export async function testStore(): Promise<TestStore> {
  const store = await openTestStore(storeKind);
  opened.push(store);
  return store;
}

/** A clock tests move by hand; starts at a fixed instant so results are repeatable. */
export class FakeClock {
  t = Date.UTC(2026, 0, 1);
  now(): number {
    return this.t;
  }
  advance(seconds: number): void {
    this.t += seconds * 1000;
  }
}

/** Cheap scrypt for tests only; production uses the default cost. */
export const testPasswordCost = { N: 1024, r: 8, p: 1 };

export async function setup(options: Partial<EngineOptions> = {}) {
  const clock = new FakeClock();
  const store = await testStore();
  const events: EngineEvent[] = [];
  const engine = await SessionEngine.create({
    store,
    clock,
    issuer: "https://auth.example.test",
    passwordCost: testPasswordCost,
    onEvent: (e) => {
      events.push(e);
    },
    ...options,
  });
  const { subject: user } = await engine.createAccount({
    username: "Maryo",
    password: "correct horse battery",
    claims: { roles: ["reader"] },
  });
  return { clock, store, engine, events, user };
}

/** Reads a JWT's parts without verifying; tests check what was signed. */
export function decodeJwt(token: string): {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
} {
  const [h, p] = token.split(".");
  const part = (s: string | undefined) => JSON.parse(Buffer.from(s ?? "", "base64url").toString("utf8"));
  return { header: part(h), payload: part(p) };
}

/**
 * What the engine and server suites share: the store of this run and a clock moved by
 * hand. vitest.config.ts makes one project per store kind and sets `PROLONG_TEST_STORE`
 * in each, so every suite that takes its store from here runs against every store.
 */
import { afterEach } from "vitest";
import { openTestStore, parseStoreKinds, type StoreKind, type TestStore } from "./stores.js";

/** The store kind of this run; memory when the variable is unset (a file run on its own). */
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

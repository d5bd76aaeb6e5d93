import { existsSync } from "node:fs";
import { dirname } from "node:path";
import { describe, expect, it } from "vitest";
import { openTestStore, parseStoreKinds, storeKinds } from "../../../testing/stores.js";

const T0 = Date.UTC(2026, 0, 1);

describe("parseStoreKinds (PROLONG_TEST_STORES)", () => {
  it("selects every kind when the variable is unset or empty", () => {
    expect(parseStoreKinds(undefined)).toEqual(["memory", "sqlite", "postgres", "redis"]);
    expect(parseStoreKinds("")).toEqual([...storeKinds]);
    expect(parseStoreKinds(" , ")).toEqual([...storeKinds]);
  });

  it("selects the listed kinds, in order, once each, ignoring spaces", () => {
    expect(parseStoreKinds("sqlite")).toEqual(["sqlite"]);
    expect(parseStoreKinds(" sqlite , memory,sqlite")).toEqual(["sqlite", "memory"]);
  });

  it("refuses an unknown kind, naming it and the valid ones", () => {
    expect(() => parseStoreKinds("memory,postgress")).toThrow(
      'PROLONG_TEST_STORES: unknown store kind "postgress"; the kinds are memory, sqlite, postgres, redis',
    );
  });
});

describe("openTestStore", () => {
  it("opens SQLite on a file of its own in a fresh temporary directory, removed on close", async () => {
    const first = await openTestStore("sqlite");
    const second = await openTestStore("sqlite");
    expect(first.kind).toBe("sqlite");
    expect(first.path).not.toBeNull();
    expect(dirname(first.path as string)).not.toBe(dirname(second.path as string));
    await first.sessions.ensureSubject("u1", T0);
    expect(existsSync(first.path as string)).toBe(true);
    // Fresh: nothing written to one store shows in another.
    expect(await second.sessions.findSubject("u1")).toBeNull();
    await first.close();
    expect(existsSync(dirname(first.path as string))).toBe(false);
    await second.close();
    expect(existsSync(dirname(second.path as string))).toBe(false);
  });

  it("opens a new, empty memory store each time", async () => {
    const first = await openTestStore("memory");
    const second = await openTestStore("memory");
    expect(first).toMatchObject({ kind: "memory", path: null });
    await first.sessions.ensureSubject("u1", T0);
    expect(await second.sessions.findSubject("u1")).toBeNull();
    await first.close();
    await second.close();
  });
});

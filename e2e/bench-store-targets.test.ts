import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SessionStore, Store } from "@prolong/core";
import { afterAll, describe, expect, it } from "vitest";
import { livePopulation, sessionIdOf } from "../bench/lib/live-sessions.mjs";
import { createTarget } from "../bench/lib/store-targets.mjs";

// bench/lib/store-targets.mjs fills a store for the store benches through the store's own
// operations, so what the benches measure is data the store itself wrote. On a real
// SQLite file; the PostgreSQL and Redis targets share the same fill.

const dir = mkdtempSync(join(tmpdir(), "prolong-bench-targets-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const now = Date.now();
const population = livePopulation(30, {
  now,
  clientId: "web",
  profile: { idleTimeout: 3600, absoluteLifetime: 86_400 },
  tokenAt: (i) => ({
    generation: 1,
    currentHash: `hash-${i}.1`,
    previousHash: `hash-${i}.0`,
    rotatedAt: now - 1000,
  }),
});

describe("bench/lib/store-targets.mjs", () => {
  it("fills a SQLite store through ensureSubject and createSession, and the store reads back what was filled", async () => {
    const target = await createTarget("sqlite", { dir, servers: {}, name: "fill" });
    await target.migrate();
    const calls = { ensureSubject: 0, createSession: 0 };
    const open = target.open;
    // Every store the fill opens counts the calls it gets.
    target.open = async () => {
      const store = await open();
      const sessions: SessionStore = Object.create(store.sessions);
      sessions.ensureSubject = (id, at) => {
        calls.ensureSubject++;
        return store.sessions.ensureSubject(id, at);
      };
      sessions.createSession = (session) => {
        calls.createSession++;
        return store.sessions.createSession(session);
      };
      return { ...store, sessions, close: () => store.close() } as Store;
    };
    const progress: string[] = [];
    await target.fill(population, (what, done, total) => progress.push(`${what} ${done}/${total}`));

    expect(calls).toEqual({ ensureSubject: population.subjects, createSession: population.sessions });
    expect(progress).toContain(`sessions ${population.sessions}/${population.sessions}`);
    expect(await target.count()).toBe(population.sessions);
    const store = await open();
    try {
      for (let i = 0; i < population.sessions; i++) {
        const read = await store.sessions.readSession(sessionIdOf(i));
        expect(read?.session).toEqual(population.sessionAt(i));
        expect(read?.subject).toMatchObject({ id: population.sessionAt(i).subjectId, createdAt: now });
      }
    } finally {
      await store.close();
    }
    await target.drop();
  });

  it("refuses a store kind it does not know, naming the kinds", async () => {
    await expect(createTarget("mysql", { dir, servers: {}, name: "x" })).rejects.toThrow(
      'unknown store kind "mysql"; the kinds are sqlite, postgres, redis',
    );
  });

  it("says which database server is missing rather than failing inside it", async () => {
    await expect(createTarget("postgres", { dir, servers: {}, name: "x" })).rejects.toThrow(
      "postgres: its database server was not started",
    );
  });
});

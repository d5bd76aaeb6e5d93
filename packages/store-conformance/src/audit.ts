import { type AuditLog, type AuditQuery, isProlongError, type SecurityEvent } from "@prolong/core";
import { describe, expect, it } from "vitest";
import { type StoreFactory, T0, withConcern } from "./fixtures.js";

const event = (
  id: string,
  at: number,
  overrides: Partial<Omit<SecurityEvent, "id" | "at">> = {},
): SecurityEvent => ({
  id,
  type: "session_revoked",
  subjectId: "u1",
  sessionId: "s1",
  at,
  detail: { reason: "logout", n: at, nested: { ip: "192.0.2.1" } },
  ...overrides,
});

/** Every event matching `query`, page by page; bounded by the number of pages it may take. */
async function readAll(log: AuditLog, query: Omit<AuditQuery, "after">) {
  const pages: SecurityEvent[][] = [];
  let after: string | undefined;
  for (let i = 0; i < 100; i++) {
    const page = await log.list(after === undefined ? query : { ...query, after });
    expect(page.events.length).toBeLessThanOrEqual(query.limit);
    pages.push(page.events);
    if (page.next === null) return pages;
    after = page.next;
  }
  throw new Error("the audit log never ended");
}

/** The security-event log: filters, newest first, paging over ties, purge. */
export function auditCases(factory: StoreFactory): void {
  describe("audit log", () => {
    it("records events with every field and lists them newest first", async () => {
      await withConcern(factory, "audit", async (log) => {
        const anonymous = event("e3", T0 + 3, { subjectId: null, sessionId: null, detail: {} });
        await log.record(event("e1", T0 + 1));
        await log.record(anonymous);
        // Recorded late, but older: the order is by time, not by arrival.
        await log.record(event("e2", T0 + 2));
        expect(await log.list({ limit: 10 })).toEqual({
          events: [anonymous, event("e2", T0 + 2), event("e1", T0 + 1)],
          next: null,
        });
        expect((await log.list({ limit: 2 })).events.map((e) => e.id)).toEqual(["e3", "e2"]);
      });
    });

    it("filters by subject, session and type, alone or together", async () => {
      await withConcern(factory, "audit", async (log) => {
        await log.record(event("a", T0 + 1, { subjectId: "u1", sessionId: "s1", type: "signed_in" }));
        await log.record(event("b", T0 + 2, { subjectId: "u1", sessionId: "s2", type: "signed_in" }));
        await log.record(event("c", T0 + 3, { subjectId: "u2", sessionId: "s3", type: "reuse_detected" }));
        await log.record(event("d", T0 + 4, { subjectId: "u1", sessionId: "s1", type: "session_revoked" }));
        await log.record(event("e", T0 + 5, { subjectId: null, sessionId: null, type: "signed_in" }));
        const ids = async (query: Omit<AuditQuery, "limit">) =>
          (await log.list({ ...query, limit: 10 })).events.map((e) => e.id);
        expect(await ids({})).toEqual(["e", "d", "c", "b", "a"]);
        expect(await ids({ subjectId: "u1" })).toEqual(["d", "b", "a"]);
        expect(await ids({ sessionId: "s1" })).toEqual(["d", "a"]);
        expect(await ids({ type: "signed_in" })).toEqual(["e", "b", "a"]);
        expect(await ids({ subjectId: "u1", type: "signed_in" })).toEqual(["b", "a"]);
        expect(await ids({ subjectId: "u1", sessionId: "s1", type: "session_revoked" })).toEqual(["d"]);
        expect(await ids({ subjectId: "u2", type: "signed_in" })).toEqual([]);
      });
    });

    it("pages newest first with its cursor, giving events at the same instant exactly once", async () => {
      await withConcern(factory, "audit", async (log) => {
        await log.record(event("later", T0 + 2));
        for (let i = 0; i < 10; i++) await log.record(event(`tie-${i}`, T0 + 1));
        await log.record(event("earlier", T0));
        await log.record(event("other-subject", T0 + 1, { subjectId: "u2" }));

        const pages = await readAll(log, { subjectId: "u1", limit: 3 });
        expect(pages.map((p) => p.length)).toEqual([3, 3, 3, 3]);
        const seen = pages.flat().map((e) => e.id);
        expect(seen[0]).toBe("later");
        expect(seen.at(-1)).toBe("earlier");
        expect(seen.slice(1, 11).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `tie-${i}`).sort());
        expect(new Set(seen).size).toBe(12);
      });
    });

    it("pages ten events of one instant three by three: all ten, each exactly once", async () => {
      await withConcern(factory, "audit", async (log) => {
        const ids = Array.from({ length: 10 }, (_, i) => `tie-${i}`);
        for (const id of ids) await log.record(event(id, T0));
        const pages = await readAll(log, { limit: 3 });
        expect(pages.map((p) => p.length)).toEqual([3, 3, 3, 1]);
        const seen = pages.flat().map((e) => e.id);
        expect([...seen].sort()).toEqual([...ids].sort());
      });
    });

    it("says there is no next page when a page ends the log exactly", async () => {
      await withConcern(factory, "audit", async (log) => {
        for (let i = 0; i < 6; i++) await log.record(event(`e${i}`, T0 + (i % 2)));
        const pages = await readAll(log, { limit: 3 });
        expect(pages.map((p) => p.length)).toEqual([3, 3]);
        expect(new Set(pages.flat().map((e) => e.id)).size).toBe(6);
        expect(await log.list({ limit: 10, sessionId: "none" })).toEqual({ events: [], next: null });
      });
    });

    it("keeps paging in place when newer events arrive between pages", async () => {
      await withConcern(factory, "audit", async (log) => {
        for (let i = 0; i < 5; i++) await log.record(event(`e${i}`, T0 + i));
        const first = await log.list({ limit: 2 });
        expect(first.events.map((e) => e.id)).toEqual(["e4", "e3"]);
        await log.record(event("newest", T0 + 10));
        const second = await log.list({ limit: 2, after: first.next ?? "" });
        expect(second.events.map((e) => e.id)).toEqual(["e2", "e1"]);
      });
    });

    it("rejects a cursor it did not issue as invalid_request", async () => {
      await withConcern(factory, "audit", async (log) => {
        await log.record(event("e1", T0));
        const error = await log.list({ limit: 1, after: "not a cursor" }).catch((e: unknown) => e);
        expect(isProlongError(error, "invalid_request"), String(error)).toBe(true);
      });
    });

    it("purges events older than the cut-off and says how many", async () => {
      await withConcern(factory, "audit", async (log) => {
        const cut = T0 + 100;
        await log.record(event("old", cut - 1));
        await log.record(event("older", cut - 50));
        await log.record(event("new", cut));
        expect(await log.purge(cut)).toBe(2);
        expect((await log.list({ limit: 10 })).events.map((e) => e.id)).toEqual(["new"]);
        expect(await log.purge(cut)).toBe(0);
      });
    });
  });
}

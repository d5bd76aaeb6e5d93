import { mkdtempSync, rmSync } from "node:fs";
import type { ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SessionEngine, type Store } from "@prolong/core";
import { buildApp, resolveConfig } from "@prolong/server";
import { openSqliteStore } from "@prolong/store-sqlite";
import type { FastifyInstance } from "fastify";
import { afterEach, describe, expect, it, vi } from "vitest";
import { RevocationPublisher } from "../src/feed.js";
import { bearer, ISSUER, login, RESOURCE_SECRET, type TestApp, testApp, testStore } from "./fixtures.js";

let current: TestApp | null = null;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  await current?.app.close();
  current = null;
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const passwordCost = { N: 1024, r: 8, p: 1 };

/** An engine over `store`, as another server process or the CLI would have on the same database. */
function engineOver(store: Store) {
  return SessionEngine.create({ store, issuer: ISSUER, passwordCost });
}

/** A listening app over `store`; closed after the test. */
async function feedApp(store: Store): Promise<{ app: FastifyInstance; engine: SessionEngine; url: string }> {
  const engine = await engineOver(store);
  const config = resolveConfig({
    issuer: ISSUER,
    resourceSecret: RESOURCE_SECRET,
    store: "memory:",
    logLevel: "silent",
  });
  const app = await buildApp({ engine, config, rateLimitStore: store.limits });
  cleanups.push(() => app.close());
  const url = await app.listen({ port: 0, host: "127.0.0.1" });
  return { app, engine, url };
}

type FeedEvent = { event: string; data: Record<string, unknown> };

/**
 * Splits the complete events off the text read so far: an event ends with a blank line
 * (docs/protocol.md, "Revocation feed"); what follows the last one is still arriving.
 */
function takeEvents(buffer: string): { events: FeedEvent[]; rest: string } {
  const blocks = buffer.split("\n\n");
  const rest = blocks.pop() ?? "";
  const events: FeedEvent[] = [];
  for (const block of blocks) {
    const event = /^event: (.*)$/m.exec(block)?.[1];
    const data = /^data: (.*)$/m.exec(block)?.[1];
    if (event && data) events.push({ event, data: JSON.parse(data) });
  }
  return { events, rest };
}

/** A subscriber reading the feed until closed; `events` grows as they arrive. */
async function subscribe(url: string) {
  const abort = new AbortController();
  const response = await fetch(`${url}/revocations/feed`, {
    headers: bearer(RESOURCE_SECRET),
    signal: abort.signal,
  });
  const events: FeedEvent[] = [];
  const reading = (async () => {
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        const taken = takeEvents(buffer + decoder.decode(value, { stream: true }));
        events.push(...taken.events);
        buffer = taken.rest;
      }
    } catch {
      // Aborted at the end of the test.
    }
  })();
  cleanups.push(async () => {
    abort.abort();
    await reading;
  });
  return { response, events };
}

/** Session ids a subscriber learnt of, from the snapshot and from `revoked` events, with repeats. */
function revokedSids(events: FeedEvent[]): string[] {
  return events.flatMap(({ event, data }) => {
    if (event === "snapshot") return (data.sessions as { sid: string }[]).map((s) => s.sid);
    return event === "revoked" ? [data.sid as string] : [];
  });
}

/** Reads Server-Sent Events from a live response until `count` events arrived. */
async function readEvents(response: Response, count: number): Promise<FeedEvent[]> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const events: FeedEvent[] = [];
  let buffer = "";
  while (events.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    const taken = takeEvents(buffer + decoder.decode(value, { stream: true }));
    events.push(...taken.events);
    buffer = taken.rest;
  }
  await reader.cancel();
  return events;
}

describe("revocation feed heartbeat", () => {
  /** What the publisher writes to one subscriber, in order; only the calls the publisher makes. */
  function recordingResponse() {
    const writes: string[] = [];
    const response = {
      destroyed: false,
      writeHead: () => response,
      write: (chunk: string) => writes.push(chunk) > 0,
      end: () => {},
      on: () => response,
    };
    return { writes, response: response as unknown as ServerResponse };
  }

  it("sends a `: ping` comment every 15 s, so proxies keep an idle stream open", async () => {
    const engine = await engineOver(await testStore());
    // Only the publisher's intervals are faked: the store and the engine run as they do.
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const publisher = new RevocationPublisher(engine);
    cleanups.push(() => {
      publisher.close();
      vi.useRealTimers();
    });
    const { writes, response } = recordingResponse();
    await publisher.attach(response);
    expect(writes).toHaveLength(1);
    expect(writes[0]).toMatch(/^retry: 2000\nevent: snapshot\n/);

    const pings = () => writes.filter((w) => w === ": ping\n\n").length;
    vi.advanceTimersByTime(14_999);
    expect(pings()).toBe(0);
    vi.advanceTimersByTime(1);
    expect(pings()).toBe(1);
    vi.advanceTimersByTime(15_000);
    expect(pings()).toBe(2);
    expect(writes.slice(1).every((w) => w === ": ping\n\n")).toBe(true);
  });
});

describe("revocation feed", () => {
  it("refuses callers that are not resource servers", async () => {
    current = await testApp();
    const response = await current.app.inject({ method: "GET", url: "/revocations/feed" });
    expect(response.statusCode).toBe(401);
    const wrong = await current.app.inject({
      method: "GET",
      url: "/revocations/feed",
      headers: bearer("not-the-secret"),
    });
    expect(wrong.statusCode).toBe(401);
  });

  it("answers HEAD with the stream's headers and ends, rather than holding the request open", async () => {
    const { url } = await feedApp(await testStore());
    const response = await fetch(`${url}/revocations/feed`, {
      method: "HEAD",
      headers: bearer(RESOURCE_SECRET),
      signal: AbortSignal.timeout(2_000),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(response.headers.get("cache-control")).toBe("no-store");
  });

  it("sends a snapshot of recent revocations, then each revocation and version bump as it happens", async () => {
    current = await testApp();
    const { app, engine, user } = current;
    const before = await login(app);
    await app.inject({
      method: "POST",
      url: "/logout",
      headers: bearer(before.body.access_token as string),
      payload: {},
    });
    const live = await login(app);

    const address = await app.listen({ port: 0, host: "127.0.0.1" });
    const response = await fetch(`${address}/revocations/feed`, { headers: bearer(RESOURCE_SECRET) });
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const reading = readEvents(response, 3);
    // Let the snapshot go out before the live events happen.
    await new Promise((r) => setTimeout(r, 100));
    await engine.logout(live.body.session_id as string);
    await engine.logoutEverywhere(user.id);
    const [snapshot, revoked, version] = await reading;

    expect(snapshot?.event).toBe("snapshot");
    const snap = snapshot?.data as { sessions: { sid: string; exp: number }[]; at: number };
    expect(snap.sessions.map((s) => s.sid)).toEqual([before.body.session_id]);
    expect(snap.sessions[0]?.exp).toBeGreaterThanOrEqual(snap.at + 300);
    expect(revoked).toEqual({
      event: "revoked",
      data: { sid: live.body.session_id, sub: user.id, exp: expect.any(Number) },
    });
    expect(version).toEqual({ event: "version", data: { sub: user.id, ver: 1, exp: expect.any(Number) } });
  });

  it("pushes revocations that another engine on the same store made, as another process would", async () => {
    const store = await testStore();
    const { url } = await feedApp(store);
    const other = await engineOver(store);
    const { subject: user } = await other.createAccount({
      username: "maryo",
      password: "correct horse battery",
    });
    const a = await other.startSessionForSubject({ subjectId: user.id });
    const { events } = await subscribe(url);
    await expect.poll(() => events.length).toBe(1);
    await other.revokeSession(null, a.sessionId, "admin");
    await other.logoutEverywhere(user.id);
    await expect
      .poll(() => events.map((e) => e.event), { timeout: 2000 })
      .toEqual(["snapshot", "revoked", "version"]);
    expect(events[1]?.data).toMatchObject({ sid: a.sessionId, sub: user.id });
    expect(events[2]?.data).toMatchObject({ sub: user.id, ver: 1 });
  });

  it("finds what another connection to the SQLite file committed by polling, within a poll interval", async () => {
    const dir = mkdtempSync(join(tmpdir(), "prolong-feed-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, "prolong.db");
    const served = openSqliteStore({ path });
    const elsewhere = openSqliteStore({ path });
    cleanups.push(() => elsewhere.close());
    const { url } = await feedApp(served);
    const cli = await engineOver(elsewhere);
    const { subject: user } = await cli.createAccount({
      username: "maryo",
      password: "correct horse battery",
    });
    const a = await cli.startSessionForSubject({ subjectId: user.id });
    const { events } = await subscribe(url);
    await expect.poll(() => events.length).toBe(1);
    const revokedAt = Date.now();
    await cli.disableSubject(user.id);
    await expect.poll(() => revokedSids(events), { timeout: 2000, interval: 10 }).toEqual([a.sessionId]);
    // The feed reads every 250 ms; allow for a loaded machine, but far below the 2 s promise.
    expect(Date.now() - revokedAt).toBeLessThan(1500);
  });

  it("sends each change once, and every change to a subscriber joining while revocations happen", async () => {
    const store = await testStore();
    const { url, engine } = await feedApp(store);
    const { subject: user } = await engine.createAccount({
      username: "maryo",
      password: "correct horse battery",
    });
    const sessions = await Promise.all(
      Array.from({ length: 30 }, () => engine.startSessionForSubject({ subjectId: user.id })),
    );
    const early = await subscribe(url);
    await expect.poll(() => early.events.length).toBe(1);
    // Revoke while a second subscriber connects: each revocation lands before, during or after its snapshot.
    const revoking = (async () => {
      for (const s of sessions) {
        await engine.logout(s.sessionId);
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    const late = await subscribe(url);
    await revoking;
    const all = sessions.map((s) => s.sessionId).sort();
    for (const { events } of [early, late]) {
      await expect.poll(() => revokedSids(events).sort(), { timeout: 2000 }).toEqual(all);
    }
    // Settled: nothing arrives twice afterwards either.
    await new Promise((r) => setTimeout(r, 600));
    expect(revokedSids(early.events)).toHaveLength(30);
    expect(revokedSids(late.events)).toHaveLength(30);
  });

  it("answers 503 and keeps no subscriber when the store cannot give the snapshot", async () => {
    const store = await testStore();
    const { url } = await feedApp(store);
    store.sessions.readRevocations = async () => {
      throw new Error("store down");
    };
    const response = await fetch(`${url}/revocations/feed`, { headers: bearer(RESOURCE_SECRET) });
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({
      error: "store_unavailable",
      error_description: expect.any(String),
    });
  });

  it("stops reading the store when the server closes", async () => {
    const store = await testStore();
    const { app, url } = await feedApp(store);
    let reads = 0;
    const read = store.sessions.readRevocations.bind(store.sessions);
    store.sessions.readRevocations = (request) => {
      reads += 1;
      return read(request);
    };
    const { events } = await subscribe(url);
    await expect.poll(() => events.length).toBe(1);
    await expect.poll(() => reads, { timeout: 2000 }).toBeGreaterThan(2);
    await app.close();
    const after = reads;
    await new Promise((r) => setTimeout(r, 600));
    expect(reads).toBe(after);
  });
});

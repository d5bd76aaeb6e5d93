import { createServer, type ServerResponse } from "node:http";
import {
  createRevocationFeed,
  createVerifier,
  type RevocationFeed,
  type VerifierOptions,
} from "@prolong/verify";
import { afterEach, describe, expect, it } from "vitest";
import { AUDIENCE, ISSUER, makeKeys, NOW, token } from "./fixtures.js";

/**
 * The subscriber against a small SSE server in the test, speaking the event format of
 * docs/protocol.md. The real prolong server is exercised in e2e/revocation-feed.test.ts.
 */

const keys = makeKeys();
const SECRET = "feed-secret";

interface Snapshot {
  sessions?: { sid: string; sub: string; exp: number }[];
  versions?: { sub: string; ver: number; exp: number }[];
}

/** An SSE endpoint that records who connected and lets the test push events or vanish. */
async function feedServer(snapshot: Snapshot = {}, port = 0) {
  const state = {
    authorizations: [] as string[],
    streams: new Set<ServerResponse>(),
    /** Answer with this status instead of a stream. */
    refuse: 0,
    /** Send the snapshot on connect; false simulates a server that hangs after the headers. */
    sendSnapshot: true,
  };
  const server = createServer((req, res) => {
    state.authorizations.push(req.headers.authorization ?? "");
    if (state.refuse) {
      res.writeHead(state.refuse).end();
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream" });
    state.streams.add(res);
    res.on("close", () => state.streams.delete(res));
    const data = { sessions: [], versions: [], at: NOW, ...snapshot };
    if (state.sendSnapshot) res.write(`retry: 2000\nevent: snapshot\ndata: ${JSON.stringify(data)}\n\n`);
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const actual = (server.address() as { port: number }).port;
  return {
    state,
    port: actual,
    url: `http://127.0.0.1:${actual}/revocations/feed`,
    push: (event: string, data: object, lineEnd = "\n") => {
      for (const stream of state.streams)
        stream.write(`event: ${event}${lineEnd}data: ${JSON.stringify(data)}${lineEnd}${lineEnd}`);
    },
    /** The server goes away: every connection is cut and the port closed. */
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const feeds: RevocationFeed[] = [];
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const feed of feeds.splice(0)) await feed.close();
  for (const stop of stops.splice(0)) await stop();
});

function subscribe(url: string, extra: Partial<Parameters<typeof createRevocationFeed>[0]> = {}) {
  const feed = createRevocationFeed({
    url,
    credentials: { secret: SECRET },
    minBackoffMs: 20,
    maxBackoffMs: 100,
    now: () => NOW * 1000,
    ...extra,
  });
  feeds.push(feed);
  return feed;
}

/** A verifier of the EdDSA test key that consults `feed` for revocations. */
function verifierOver(feed: RevocationFeed, extra: Partial<VerifierOptions> = {}) {
  return createVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    keys: [keys.EdDSA.jwk],
    revocations: feed,
    now: () => NOW * 1000,
    ...extra,
  });
}

async function until(condition: () => boolean, what: string, timeoutMs = 3000) {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("revocation feed subscriber", () => {
  it("authenticates as client resource with HTTP Basic, or with the secret as a Bearer token", async () => {
    const server = await feedServer();
    stops.push(server.stop);
    await subscribe(server.url).waitUntilLive(3000);
    await subscribe(server.url, { credentials: { clientId: "api 2", secret: "s:cret" } }).waitUntilLive(3000);
    await subscribe(server.url, { credentials: { bearer: SECRET } }).waitUntilLive(3000);
    // RFC 6749 §2.3.1: id and secret are form-encoded before being joined by ":".
    expect(server.state.authorizations).toEqual([
      `Basic ${Buffer.from(`resource:${SECRET}`).toString("base64")}`,
      `Basic ${Buffer.from("api+2:s%3Acret").toString("base64")}`,
      `Bearer ${SECRET}`,
    ]);
  });

  it("is live only after the snapshot, and applies it", async () => {
    const server = await feedServer({
      sessions: [{ sid: "s-old", sub: "u1", exp: NOW + 300 }],
      versions: [{ sub: "u2", ver: 3, exp: NOW + 300 }],
    });
    stops.push(server.stop);
    server.state.sendSnapshot = false;
    const feed = subscribe(server.url);
    await until(() => server.state.streams.size === 1, "a connection");
    expect(feed.live).toBe(false);
    server.push("snapshot", {
      sessions: [{ sid: "s-old", sub: "u1", exp: NOW + 300 }],
      versions: [{ sub: "u2", ver: 3, exp: NOW + 300 }],
      at: NOW,
    });
    await feed.waitUntilLive(3000);
    expect(feed.isRevoked({ sid: "s-old", sub: "u1", ver: 0 })).toBe(true);
    expect(feed.isRevoked({ sid: "s-other", sub: "u2", ver: 2 })).toBe(true);
    expect(feed.isRevoked({ sid: "s-other", sub: "u2", ver: 3 })).toBe(false);
    expect(feed.isRevoked({ sid: "s-other", sub: "u1", ver: 0 })).toBe(false);
  });

  it("makes a subscribed verifier refuse a revoked session at once, cached or not (P6)", async () => {
    const server = await feedServer();
    stops.push(server.stop);
    const feed = subscribe(server.url);
    await feed.waitUntilLive(3000);
    const verifier = await verifierOver(feed, { cacheSize: 100 });
    const mine = token(keys.EdDSA, { sid: "session-1" });
    const other = token(keys.EdDSA, { sid: "session-2", jti: "jti-2" });
    expect((await verifier.verify(mine)).ok).toBe(true);
    // CRLF line ends are valid SSE and must work as well.
    server.push("revoked", { sid: "session-1", sub: "user-1", exp: NOW + 300 }, "\r\n");
    await until(() => feed.isRevoked({ sid: "session-1", sub: "user-1" }), "the revocation");
    // The token was cached as verified; replaying it after the revocation must still fail.
    expect(await verifier.verify(mine)).toMatchObject({ ok: false, code: "revoked" });
    expect((await verifier.verify(other)).ok).toBe(true);

    // "Log out everywhere" bumps the user's version: older tokens of every session go.
    server.push("version", { sub: "user-1", ver: 1, exp: NOW + 300 });
    await until(() => feed.isRevoked({ sid: "x", sub: "user-1", ver: 0 }), "the version bump");
    expect(await verifier.verify(other)).toMatchObject({ ok: false, code: "revoked" });
    const newer = token(keys.EdDSA, { sid: "session-3", jti: "jti-3", ver: 1 });
    expect((await verifier.verify(newer)).ok).toBe(true);
  });

  it("forgets entries once no token they could match is unexpired (bounded memory)", async () => {
    let now = NOW * 1000;
    const server = await feedServer({
      sessions: [
        { sid: "a", sub: "u", exp: NOW + 10 },
        { sid: "b", sub: "u", exp: NOW + 500 },
      ],
      versions: [{ sub: "u", ver: 2, exp: NOW + 10 }],
    });
    stops.push(server.stop);
    const feed = subscribe(server.url, { now: () => now });
    await feed.waitUntilLive(3000);
    expect(feed.size).toBe(3);
    expect(feed.isRevoked({ sid: "a", sub: "u", ver: 2 })).toBe(true);
    // A verifier accepts a token until exp plus its clock tolerance (5 s by default).
    now = (NOW + 14) * 1000;
    expect(feed.isRevoked({ sid: "a", sub: "u", ver: 0 })).toBe(true);
    now = (NOW + 16) * 1000;
    expect(feed.isRevoked({ sid: "a", sub: "u", ver: 0 })).toBe(false);
    expect(feed.isRevoked({ sid: "b", sub: "u", ver: 0 })).toBe(true);
    expect(feed.size).toBe(1);
  });

  it("keeps a revoked session refused as long as the verifier's clock tolerance accepts its token", async () => {
    let now = NOW * 1000;
    const server = await feedServer({ sessions: [{ sid: "session-1", sub: "user-1", exp: NOW + 300 }] });
    stops.push(server.stop);
    const feed = subscribe(server.url, { now: () => now });
    await feed.waitUntilLive(3000);
    const verifier = await verifierOver(feed, { clockTolerance: 60, now: () => now });
    // The last token of the session expires when the entry does; the verifier still takes it 60 s more.
    const last = token(keys.EdDSA, { iat: NOW, exp: NOW + 300 });
    for (const second of [299, 301, 330, 359]) {
      now = (NOW + second) * 1000;
      expect(await verifier.verify(last), `at +${second} s`).toMatchObject({ ok: false, code: "revoked" });
    }
    now = (NOW + 360) * 1000;
    expect(await verifier.verify(last)).toMatchObject({ ok: false, code: "expired" });
    // Now no token it could match is accepted any more: the entry may go.
    expect(feed.isRevoked({ sid: "session-1", sub: "user-1" })).toBe(false);
    expect(feed.size).toBe(0);
  });

  it("reconnects with backoff after the server goes away, and is not live meanwhile", async () => {
    const first = await feedServer({ sessions: [{ sid: "s1", sub: "u", exp: NOW + 300 }] });
    const feed = subscribe(first.url);
    await feed.waitUntilLive(3000);
    expect(feed.connections).toBe(1);
    await first.stop();
    await until(() => !feed.live, "the feed to notice");
    // Revocations learnt before the outage still count while it lasts.
    expect(feed.isRevoked({ sid: "s1", sub: "u" })).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const failedAttempts = feed.connections;
    expect(failedAttempts).toBeGreaterThan(1);

    const second = await feedServer({ sessions: [{ sid: "s2", sub: "u", exp: NOW + 300 }] }, first.port);
    stops.push(second.stop);
    await feed.waitUntilLive(3000);
    expect(feed.isRevoked({ sid: "s2", sub: "u" })).toBe(true);
    expect(feed.isRevoked({ sid: "s1", sub: "u" })).toBe(true);
  });

  it("drops a connection that stays silent past the idle timeout, and reconnects", async () => {
    const server = await feedServer();
    stops.push(server.stop);
    const feed = subscribe(server.url, { idleTimeoutMs: 150 });
    await feed.waitUntilLive(3000);
    // The server pings every 15 s; here it says nothing, as a half-open connection would.
    await until(() => feed.connections >= 2, "a reconnect after silence");
    await feed.waitUntilLive(3000);
  });

  it("keeps retrying when refused, and never turns live on an error answer", async () => {
    const server = await feedServer();
    stops.push(server.stop);
    server.state.refuse = 401;
    const feed = subscribe(server.url);
    await until(() => server.state.authorizations.length >= 3, "retries");
    expect(feed.live).toBe(false);
    server.state.refuse = 0;
    await feed.waitUntilLive(3000);
  });

  it("fails open or closed, as configured, while the feed is down", async () => {
    const server = await feedServer();
    const feed = subscribe(server.url);
    await feed.waitUntilLive(3000);
    await server.stop();
    await until(() => !feed.live, "the feed to go down");
    const open = await verifierOver(feed, { whenFeedDown: "open" });
    const closed = await verifierOver(feed, { whenFeedDown: "closed" });
    expect((await open.verify(token(keys.EdDSA))).ok).toBe(true);
    expect(await closed.verify(token(keys.EdDSA))).toMatchObject({ ok: false, code: "unavailable" });
  });
});

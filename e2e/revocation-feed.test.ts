import { SessionEngine, type Store } from "@prolong/core";
import { buildApp, resolveConfig } from "@prolong/server";
import { MemoryStore } from "@prolong/store-memory";
import { createRevocationFeed, createVerifier, type RevocationFeed } from "@prolong/verify";
import type { FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { freePort } from "./server-process.js";

const SECRET = "resource-secret-for-the-feed-test";
let app: FastifyInstance | null = null;
let feed: RevocationFeed | null = null;
afterEach(async () => {
  await feed?.close();
  await app?.close();
  app = null;
  feed = null;
});

/** A real prolong server on loopback, over an engine that outlives it (restarts keep the data). */
async function serve(engine: SessionEngine, port: number, store: Store) {
  const config = resolveConfig({
    port,
    issuer: engine.issuer,
    resourceSecret: SECRET,
    store: "memory:",
    logLevel: "silent",
  });
  const server = await buildApp({ engine, config, rateLimitStore: store.limits });
  await server.listen({ port, host: "127.0.0.1" });
  return server;
}

/** An engine whose issuer is a free loopback port, where `serve` will put it. */
async function engineOnFreePort() {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const store = new MemoryStore();
  const engine = await SessionEngine.create({ store, issuer, passwordCost: { N: 1024, r: 8, p: 1 } });
  return { port, issuer, engine, store };
}

describe("revocation feed, from a real server to a subscribed verifier", () => {
  it("refuses a revoked session's token within 2 s, and reconnects after the server comes back", async () => {
    const { port, issuer, engine, store } = await engineOnFreePort();
    await engine.createAccount({ username: "maryo", password: "correct horse battery" });
    app = await serve(engine, port, store);

    feed = createRevocationFeed({
      url: `${issuer}/revocations/feed`,
      credentials: { secret: SECRET },
      minBackoffMs: 50,
      maxBackoffMs: 200,
    });
    await feed.waitUntilLive();
    const verifier = await createVerifier({
      issuer,
      audience: "prolong",
      jwksUri: `${issuer}/.well-known/jwks.json`,
      revocations: feed,
      cacheSize: 100,
    });

    const signIn = () => engine.signIn({ username: "maryo", password: "correct horse battery" });
    const first = await signIn();
    expect((await verifier.verify(first.accessToken)).ok).toBe(true);

    const revokedAt = Date.now();
    await engine.logout(first.sessionId);
    await expect
      .poll(async () => (await verifier.verify(first.accessToken)).ok, { timeout: 2000, interval: 10 })
      .toBe(false);
    expect(Date.now() - revokedAt).toBeLessThan(2000);
    expect(await verifier.verify(first.accessToken)).toMatchObject({ ok: false, code: "revoked" });

    // The server goes away: the subscriber notices and keeps trying.
    await app.close();
    app = null;
    await expect.poll(() => feed?.live, { timeout: 5000 }).toBe(false);

    app = await serve(engine, port, store);
    await feed.waitUntilLive(5000);
    expect(feed.connections).toBeGreaterThan(1);
    // Back live: the snapshot still carries the earlier revocation, and new ones arrive.
    expect((await verifier.verify(first.accessToken)).ok).toBe(false);
    const second = await signIn();
    expect((await verifier.verify(second.accessToken)).ok).toBe(true);
    await engine.logoutEverywhere(second.session.subjectId);
    await expect
      .poll(async () => (await verifier.verify(second.accessToken)).ok, { timeout: 2000 })
      .toBe(false);
  });

  it("fails closed when asked to and the feed is down", async () => {
    const { port, issuer, engine, store } = await engineOnFreePort();
    const { subject: user } = await engine.createAccount({
      username: "maryo",
      password: "correct horse battery",
    });
    app = await serve(engine, port, store);
    const tokens = await engine.startSessionForSubject({ subjectId: user.id });
    // Wrong credentials: the feed never goes live.
    feed = createRevocationFeed({
      url: `${issuer}/revocations/feed`,
      credentials: { secret: "wrong-secret" },
    });
    const options = {
      issuer,
      audience: "prolong",
      jwksUri: `${issuer}/.well-known/jwks.json`,
      revocations: feed,
    };
    const closed = await createVerifier({ ...options, whenFeedDown: "closed" });
    const open = await createVerifier({ ...options, whenFeedDown: "open" });
    expect(await closed.verify(tokens.accessToken)).toMatchObject({ ok: false, code: "unavailable" });
    expect((await open.verify(tokens.accessToken)).ok).toBe(true);
  });
});

import { createServer, type Server } from "node:http";
import { createVerifier, JwksCache } from "@prolong/verify";
import { afterEach, describe, expect, it } from "vitest";
import { AUDIENCE, ISSUER, makeKeys, NOW, token } from "./fixtures.js";

const keys = makeKeys();
let server: Server | null = null;
afterEach(() => {
  server?.close();
  server = null;
});

/** A JWKS endpoint on loopback whose key set the test can change. */
async function jwksServer(initial: object[]) {
  const state = { keys: initial, hits: 0 };
  server = createServer((_req, res) => {
    state.hits += 1;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ keys: state.keys }));
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return { state, uri: `http://127.0.0.1:${port}/jwks` };
}

describe("JWKS", () => {
  it("fetches once, then verifies from the cache", async () => {
    const { state, uri } = await jwksServer([keys.EdDSA.jwk]);
    const verifier = await createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUri: uri,
      now: () => NOW * 1000,
    });
    for (let i = 0; i < 5; i++) expect((await verifier.verify(token(keys.EdDSA))).ok).toBe(true);
    expect(state.hits).toBe(1);
  });

  it("refetches on an unknown kid, so a rotated-in key works at once", async () => {
    const { state, uri } = await jwksServer([keys.EdDSA.jwk]);
    let now = NOW * 1000;
    const verifier = await createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUri: uri,
      now: () => now,
      jwks: { cooldownMs: 30_000 },
    });
    expect((await verifier.verify(token(keys.EdDSA))).ok).toBe(true);
    state.keys = [keys.ES256.jwk, keys.EdDSA.jwk];
    now += 31_000;
    expect((await verifier.verify(token(keys.ES256))).ok).toBe(true);
    expect(state.hits).toBe(2);
  });

  it("concurrent requests that meet a kid not cached yet wait for the one fetch, and all verify", async () => {
    const { state, uri } = await jwksServer([keys.EdDSA.jwk]);
    let now = NOW * 1000;
    const verifier = await createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUri: uri,
      now: () => now,
      jwks: { cooldownMs: 30_000 },
    });
    // A cold cache: the first requests a resource server takes after it starts.
    const cold = await Promise.all(Array.from({ length: 20 }, () => verifier.verify(token(keys.EdDSA))));
    expect(cold.map((r) => r.ok)).toEqual(Array(20).fill(true));
    expect(state.hits).toBe(1);
    // A key rotated in: every request in the burst that first meets it.
    state.keys = [keys.ES256.jwk, keys.EdDSA.jwk];
    now += 31_000;
    const rotated = await Promise.all(Array.from({ length: 20 }, () => verifier.verify(token(keys.ES256))));
    expect(rotated.map((r) => r.ok)).toEqual(Array(20).fill(true));
    expect(state.hits).toBe(2);
  });

  it("cannot be made to fetch in a loop by made-up kids", async () => {
    const { state, uri } = await jwksServer([keys.EdDSA.jwk]);
    let now = NOW * 1000;
    const verifier = await createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUri: uri,
      now: () => now,
      jwks: { cooldownMs: 30_000 },
    });
    const bogus = Array.from({ length: 50 }, (_, i) => token(keys.EdDSA, {}, { kid: `made-up-${i}` }));
    const results = await Promise.all(bogus.map((t) => verifier.verify(t)));
    expect(results.every((r) => !r.ok && r.reason === "unknown kid")).toBe(true);
    for (const t of bogus) await verifier.verify(t);
    expect(state.hits).toBe(1);
    now += 30_000;
    await verifier.verify(bogus[0] as string);
    expect(state.hits).toBe(2);
  });

  it("answers unavailable when the keys cannot be fetched", async () => {
    const verifier = await createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUri: "http://127.0.0.1:9/jwks",
      now: () => NOW * 1000,
    });
    expect(await verifier.verify(token(keys.EdDSA))).toMatchObject({ ok: false, code: "unavailable" });
  });

  it("skips keys it must not use: encryption keys and curves it does not allow", async () => {
    const { uri } = await jwksServer([
      { ...keys.EdDSA.jwk, use: "enc" },
      { kty: "EC", crv: "P-384", x: "x", y: "y", kid: "p384" },
    ]);
    const verifier = await createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUri: uri,
      now: () => NOW * 1000,
    });
    expect(await verifier.verify(token(keys.EdDSA))).toMatchObject({ ok: false, reason: "unknown kid" });
  });
});

describe("JWKS Cache-Control", () => {
  /** A JwksCache over an injected fetch that answers with `headers`, and a clock the test moves. */
  function cacheAnswering(
    headers: Record<string, string>,
    bounds: { cooldownMs?: number; maxAgeMs?: number } = {},
  ) {
    const clock = { now: NOW * 1000 };
    let fetches = 0;
    const cache = new JwksCache({
      uri: "https://auth.example.test/.well-known/jwks.json",
      algorithms: ["EdDSA"],
      now: () => clock.now,
      fetch: async () => {
        fetches += 1;
        return new Response(JSON.stringify({ keys: [keys.EdDSA.jwk] }), { headers });
      },
      ...bounds,
    });
    /** Whether the key set is used at `ms` after the first fetch without fetching again. */
    const freshAt = async (ms: number) => {
      clock.now = NOW * 1000 + ms;
      const before = fetches;
      expect(await cache.get(keys.EdDSA.kid)).toBeDefined();
      return fetches === before;
    };
    return { cache, clock, freshAt, fetches: () => fetches };
  }

  it.each([
    ["max-age=120", {}, 120_000],
    ["public, max-age=300, must-revalidate", {}, 300_000],
    // Bounded below by the cooldown: a max-age of 0 cannot make every request fetch.
    ["max-age=0", {}, 30_000],
    ["no-store", {}, 30_000],
    ["max-age=ten", {}, 30_000],
    // Bounded above by maxAgeMs: a year-long max-age cannot keep a rotated-out key set.
    ["max-age=31536000", {}, 600_000],
    ["max-age=120", { cooldownMs: 5_000, maxAgeMs: 60_000 }, 60_000],
    ["max-age=1", { cooldownMs: 5_000, maxAgeMs: 60_000 }, 5_000],
  ])("Cache-Control: %s with bounds %j: the key set is used for %i ms", async (header, bounds, lifetime) => {
    const { freshAt, fetches } = cacheAnswering({ "cache-control": header }, bounds);
    expect(await freshAt(0)).toBe(false);
    expect(await freshAt(lifetime - 1)).toBe(true);
    expect(await freshAt(lifetime)).toBe(false);
    expect(fetches()).toBe(2);
  });

  it("uses maxAgeMs when the response says nothing, and counts the time it spent in a cache (Age)", async () => {
    const plain = cacheAnswering({});
    await plain.freshAt(0);
    expect(await plain.freshAt(599_999)).toBe(true);
    expect(await plain.freshAt(600_000)).toBe(false);

    const aged = cacheAnswering({ "cache-control": "max-age=300", age: "200" });
    await aged.freshAt(0);
    expect(await aged.freshAt(99_999)).toBe(true);
    expect(await aged.freshAt(100_000)).toBe(false);
  });

  it("stops answering from memory (peek) once the max-age has passed, so the next request fetches", async () => {
    const { cache, clock, freshAt } = cacheAnswering({ "cache-control": "max-age=60" });
    await freshAt(0);
    clock.now = NOW * 1000 + 59_999;
    expect(cache.peek(keys.EdDSA.kid)).toBeDefined();
    clock.now = NOW * 1000 + 60_000;
    expect(cache.peek(keys.EdDSA.kid)).toBeUndefined();
  });

  it("follows the max-age a real JWKS endpoint sends", async () => {
    let hits = 0;
    server = createServer((_req, res) => {
      hits += 1;
      res.writeHead(200, { "content-type": "application/json", "cache-control": "public, max-age=90" });
      res.end(JSON.stringify({ keys: [keys.EdDSA.jwk] }));
    });
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    let now = NOW * 1000;
    const verifier = await createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUri: `http://127.0.0.1:${port}/jwks`,
      now: () => now,
    });
    expect((await verifier.verify(token(keys.EdDSA))).ok).toBe(true);
    now += 89_000;
    expect((await verifier.verify(token(keys.EdDSA))).ok).toBe(true);
    expect(hits).toBe(1);
    now += 1_000;
    expect((await verifier.verify(token(keys.EdDSA))).ok).toBe(true);
    expect(hits).toBe(2);
  });
});

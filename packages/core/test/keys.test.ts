import { KeyRing, ProlongError, SessionEngine, type SigningAlg } from "@prolong/core";
import { MemoryStore } from "@prolong/store-memory";
import { calculateJwkThumbprint, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { FakeClock, testPasswordCost } from "./fixtures.js";

function ring(
  store = new MemoryStore(),
  clock = new FakeClock(),
  extra: Partial<Parameters<typeof KeyRing.load>[0]> = {},
) {
  return KeyRing.load({ store, clock, retainFor: 360, ...extra });
}

describe("key ring", () => {
  it.each(["EdDSA", "ES256", "RS256", "HS256"] as SigningAlg[])("signs and verifies with %s", async (alg) => {
    const clock = new FakeClock();
    const store = new MemoryStore();
    const engine = await SessionEngine.create({
      store,
      clock,
      issuer: "https://i.test",
      alg,
      passwordCost: testPasswordCost,
    });
    const user = await engine.createUser({ username: "u", password: "password one" });
    const tokens = await engine.createSessionForUser({ userId: user.id });
    const key = engine.keys.active;
    expect(key.alg).toBe(alg);
    const { protectedHeader } = await jwtVerify(tokens.accessToken, key.verificationKey, {
      currentDate: new Date(clock.now()),
    });
    expect(protectedHeader).toMatchObject({ alg, typ: "at+jwt", kid: key.kid });
    // The engine's own check (the verifier over the ring) takes every algorithm the ring signs with.
    expect((await engine.authenticate(tokens.accessToken)).session.id).toBe(tokens.sessionId);
  });

  it("uses the RFC 7638 thumbprint as kid and publishes only public parts", async () => {
    const keys = await ring(undefined, undefined, { alg: "ES256" });
    const [jwk] = keys.jwks().keys;
    expect(jwk).toBeDefined();
    expect(jwk?.kid).toBe(await calculateJwkThumbprint(jwk as object));
    expect(jwk).not.toHaveProperty("d");
    expect(jwk).toMatchObject({ use: "sig", alg: "ES256" });
  });

  it("never publishes an HMAC secret", async () => {
    const keys = await ring(undefined, undefined, { alg: "HS256" });
    expect(keys.jwks()).toEqual({ keys: [] });
    expect(JSON.stringify(keys.jwks())).not.toContain('"k"');
  });

  it("refuses HS256 secrets shorter than 256 bits", async () => {
    const keys = await ring(undefined, undefined, { alg: "HS256" });
    const error = await keys.rotate(new Uint8Array(31)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProlongError);
    expect((error as ProlongError).code).toBe("invalid_key");
    await expect(keys.rotate(crypto.getRandomValues(new Uint8Array(32)))).resolves.toBeTruthy();
  });

  it("keeps a rotated-out key for verification until its tokens have expired, then prunes it", async () => {
    const store = new MemoryStore();
    const clock = new FakeClock();
    const keys = await ring(store, clock);
    const first = keys.active.kid;
    const second = (await keys.rotate()).kid;
    expect(keys.active.kid).toBe(second);
    expect(keys.jwks().keys.map((k) => k.kid)).toEqual([second, first]);
    clock.advance(359);
    expect(await keys.prune()).toEqual([]);
    expect(keys.find(first)).toBeDefined();
    clock.advance(1);
    expect(await keys.prune()).toEqual([first]);
    expect(keys.jwks().keys.map((k) => k.kid)).toEqual([second]);
  });

  it("is shared through the store: a second instance loads the same active key", async () => {
    const store = new MemoryStore();
    const a = await ring(store);
    const b = await ring(store);
    expect(b.active.kid).toBe(a.active.kid);
    await a.rotate();
    await b.reload();
    expect(b.active.kid).toBe(a.active.kid);
  });

  it("rolls over to a newly configured algorithm", async () => {
    const store = new MemoryStore();
    const a = await ring(store, undefined, { alg: "EdDSA" });
    const b = await ring(store, undefined, { alg: "ES256" });
    expect(b.active.alg).toBe("ES256");
    expect(b.find(a.active.kid)?.retiredAt).not.toBeNull();
  });

  it("encrypts private keys at rest when a secret is configured", async () => {
    const store = new MemoryStore();
    await ring(store, undefined, { encryptionSecret: "a long enough secret" });
    const [stored] = await store.listKeys();
    expect(stored?.privateKey.startsWith("enc:v1:")).toBe(true);
    expect(stored?.privateKey).not.toContain('"d"');
    await expect(ring(store, undefined, { encryptionSecret: "a long enough secret" })).resolves.toBeTruthy();
    const wrong = await ring(store, undefined, { encryptionSecret: "another long secret" }).catch(
      (e: unknown) => e,
    );
    expect((wrong as ProlongError).code).toBe("invalid_config");
    const none = await ring(store).catch((e: unknown) => e);
    expect((none as ProlongError).code).toBe("invalid_config");
  });

  it("stores private keys in plain JWK form only when no secret is configured", async () => {
    const store = new MemoryStore();
    await ring(store);
    const [stored] = await store.listKeys();
    expect(JSON.parse(stored?.privateKey as string)).toHaveProperty("d");
  });

  it("refuses an algorithm it does not know", async () => {
    const error = await ring(undefined, undefined, { alg: "none" as SigningAlg }).catch((e: unknown) => e);
    expect((error as ProlongError).code).toBe("invalid_config");
  });
});

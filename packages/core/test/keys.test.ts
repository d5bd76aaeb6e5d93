import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KeyRing, ProlongError, SessionEngine, type Store } from "@prolong/core";
import type { SigningAlg } from "@prolong/protocol";
import { openSqliteStore } from "@prolong/store-sqlite";
import { calculateJwkThumbprint, createLocalJWKSet, importJWK, type JWK, jwtVerify, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { FakeClock, testPasswordCost, testStore } from "./fixtures.js";

async function ring(
  store?: Store,
  clock = new FakeClock(),
  extra: Partial<Parameters<typeof KeyRing.load>[0]> = {},
) {
  const keys = (store ?? (await testStore())).keys;
  return KeyRing.load({ store: keys, clock, retainFor: 360, ...extra });
}

async function failure(promise: Promise<unknown>): Promise<ProlongError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(error instanceof ProlongError)) throw new Error(`expected a ProlongError, got ${String(error)}`);
  return error;
}

describe("key ring", () => {
  it.each(["EdDSA", "ES256", "RS256", "HS256"] as SigningAlg[])("signs and verifies with %s", async (alg) => {
    const clock = new FakeClock();
    const store = await testStore();
    const engine = await SessionEngine.create({
      store,
      clock,
      issuer: "https://i.test",
      alg,
      passwordCost: testPasswordCost,
    });
    const { subject } = await engine.createAccount({ username: "u", password: "password one" });
    const tokens = await engine.startSessionForSubject({ subjectId: subject.id });
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
    const published = keys.jwks().keys;
    expect(published).toHaveLength(2);
    for (const jwk of published) {
      expect(jwk.kid).toBe(await calculateJwkThumbprint(jwk));
      expect(jwk).not.toHaveProperty("d");
      expect(jwk).toMatchObject({ use: "sig", alg: "ES256" });
    }
  });

  it("creates the active key and the next key on first start, and publishes both", async () => {
    const store = await testStore();
    const keys = await ring(store);
    expect(keys.keys.map((k) => k.state)).toEqual(["active", "next"]);
    expect(keys.next?.kid).not.toBe(keys.active.kid);
    expect(keys.jwks().keys.map((k) => k.kid)).toEqual([keys.active.kid, keys.next?.kid]);
    // Loading again changes nothing: one active, one next.
    const again = await ring(store);
    expect(again.keys.map((k) => k.kid)).toEqual(keys.keys.map((k) => k.kid));
  });

  it("refuses to promote the next key before it was published for publishAhead, and says when it can", async () => {
    const clock = new FakeClock();
    const keys = await ring(await testStore(), clock, { publishAhead: 100 });
    const active = keys.active.kid;
    const next = keys.next?.kid;
    clock.advance(99);
    const early = await failure(keys.rotate());
    expect(early.code).toBe("rotation_too_early");
    expect(early.message).toContain(`possible from ${new Date(clock.now() + 1000).toISOString()} (in 1 s)`);
    expect(keys.active.kid).toBe(active);

    clock.advance(1);
    const promoted = await keys.rotate();
    expect(promoted.kid).toBe(next);
    expect(keys.active.kid).toBe(next);
    // A new next key is published at once; the old key verifies and stays published.
    expect(keys.next?.kid).not.toBe(next);
    expect(keys.find(active)?.state).toBe("retired");
    expect(keys.jwks().keys.map((k) => k.kid)).toEqual([next, keys.next?.kid, active]);
    // And the new next key waits its turn again.
    expect((await failure(keys.rotate())).code).toBe("rotation_too_early");
  });

  it("promotes at once when forced", async () => {
    const keys = await ring();
    const next = keys.next?.kid;
    expect((await keys.rotate({ force: true })).kid).toBe(next);
    expect(keys.active.kid).toBe(next);
  });

  it("lets a verifier holding the key set from before a rotation verify the first token after it", async () => {
    const clock = new FakeClock();
    const engine = await SessionEngine.create({
      store: await testStore(),
      clock,
      issuer: "https://i.test",
      passwordCost: testPasswordCost,
      keyPublishAhead: 60,
    });
    const cached = createLocalJWKSet(engine.keys.jwks());
    clock.advance(60);
    await engine.rotateKeys();
    const { subject } = await engine.createAccount({ username: "u", password: "password one" });
    const tokens = await engine.startSessionForSubject({ subjectId: subject.id });
    const { protectedHeader } = await jwtVerify(tokens.accessToken, cached, {
      currentDate: new Date(clock.now()),
    });
    expect(protectedHeader.kid).toBe(engine.keys.active.kid);
  });

  it("keeps a rotated-out key for verification until its tokens have expired, then prunes it", async () => {
    const store = await testStore();
    const clock = new FakeClock();
    const keys = await ring(store, clock);
    const first = keys.active.kid;
    const second = (await keys.rotate({ force: true })).kid;
    expect(keys.active.kid).toBe(second);
    expect(keys.jwks().keys.map((k) => k.kid)).toEqual([second, keys.next?.kid, first]);
    clock.advance(359);
    expect(await keys.prune()).toEqual([]);
    expect(keys.find(first)).toBeDefined();
    clock.advance(1);
    expect(await keys.prune()).toEqual([first]);
    expect(keys.jwks().keys.map((k) => k.kid)).toEqual([second, keys.next?.kid]);
  });

  it("is shared through the store: a second instance loads the same keys and sees rotations", async () => {
    const store = await testStore();
    const clock = new FakeClock();
    const a = await ring(store, clock);
    const b = await ring(store, clock);
    expect(b.keys.map((k) => k.kid)).toEqual(a.keys.map((k) => k.kid));
    clock.advance(310);
    await a.rotate();
    await b.reload();
    expect(b.active.kid).toBe(a.active.kid);
    expect(b.next?.kid).toBe(a.next?.kid);
  });

  it("finds the next key, so tokens another instance signed right after promoting it verify here", async () => {
    const store = await testStore();
    const a = await ring(store);
    const b = await ring(store);
    await a.rotate({ force: true });
    // b has not reloaded: the new active key is still its next key.
    expect(b.find(a.active.kid)?.state).toBe("next");
  });

  it.each([
    ["the first start", false],
    ["a rotation", true],
  ])("gives one active key when two instances race through %s on one SQLite file", async (_, rotate) => {
    const dir = mkdtempSync(join(tmpdir(), "prolong-keys-"));
    const path = join(dir, "prolong.db");
    const storeA = openSqliteStore({ path });
    const storeB = openSqliteStore({ path });
    try {
      const clock = new FakeClock();
      const [a, b] = await Promise.all([ring(storeA, clock), ring(storeB, clock)]);
      if (rotate) {
        clock.advance(310);
        const outcomes = await Promise.allSettled([a.rotate(), b.rotate()]);
        expect(outcomes.map((o) => o.status).sort()).toEqual(["fulfilled", "rejected"]);
        const lost = outcomes.find((o) => o.status === "rejected") as PromiseRejectedResult;
        expect((lost.reason as ProlongError).code).toBe("conflict");
      }
      const stored = await storeA.keys.listKeys();
      expect(stored.filter((k) => k.activatedAt !== null && k.retiredAt === null)).toHaveLength(1);
      await a.reload();
      await b.reload();
      expect(a.active.kid).toBe(b.active.kid);
      expect(a.next).not.toBeNull();
      expect(a.keys.filter((k) => k.state === "retired")).toHaveLength(rotate ? 1 : 0);
    } finally {
      await storeA.close();
      await storeB.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("publishes the next key of a newly configured algorithm, and lets it sign at the next rotation", async () => {
    const store = await testStore();
    const clock = new FakeClock();
    const a = await ring(store, clock, { alg: "EdDSA" });
    const b = await ring(store, clock, { alg: "ES256" });
    expect(b.active.kid).toBe(a.active.kid);
    expect(b.next?.alg).toBe("ES256");
    // The EdDSA next key never signed: it is gone rather than published for ever.
    expect(b.keys.map((k) => `${k.alg} ${k.state}`)).toEqual(["EdDSA active", "ES256 next"]);
    clock.advance(310);
    expect((await b.rotate()).alg).toBe("ES256");
    expect(b.find(a.active.kid)?.state).toBe("retired");
  });

  it.each(["EdDSA", "ES256", "RS256", "HS256"] as SigningAlg[])(
    "never publishes a private part or an HMAC secret, in any key state (%s)",
    async (alg) => {
      const keys = await ring(undefined, undefined, { alg });
      await keys.rotate({ force: true });
      expect(keys.keys.map((k) => k.state)).toEqual(["active", "next", "retired"]);
      const text = JSON.stringify(keys.jwks());
      for (const member of ['"d"', '"p"', '"q"', '"dp"', '"dq"', '"qi"', '"k"'])
        expect(text).not.toContain(member);
      expect(keys.jwks().keys).toHaveLength(alg === "HS256" ? 0 : 3);
    },
  );

  it("HS256: keeps the next secret unpublished, and hands it out only to whoever asks the ring", async () => {
    const keys = await ring(undefined, undefined, { alg: "HS256" });
    const next = keys.next as NonNullable<typeof keys.next>;
    expect(keys.jwks()).toEqual({ keys: [] });
    const jwk = keys.verificationJwk(next.kid);
    expect(jwk).toMatchObject({ kty: "oct", kid: next.kid, alg: "HS256" });
    expect(Buffer.from(String(jwk?.k), "base64url")).toHaveLength(32);
    // A verifier given that secret ahead of time verifies the first token after the rotation.
    await keys.rotate({ force: true });
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256", kid: next.kid })
      .sign(keys.active.signingKey);
    await expect(jwtVerify(token, await importJWK(jwk as JWK, "HS256"))).resolves.toBeTruthy();
    expect(keys.verificationJwk("unknown")).toBeNull();
  });

  it("encrypts private keys at rest when a secret is configured", async () => {
    const store = await testStore();
    await ring(store, undefined, { keyEncryptionKey: "a long enough secret" });
    const stored = await store.keys.listKeys();
    expect(stored).toHaveLength(2);
    for (const key of stored) {
      expect(key.privateKey.startsWith("enc:v1:")).toBe(true);
      expect(key.privateKey).not.toContain('"d"');
    }
    await expect(ring(store, undefined, { keyEncryptionKey: "a long enough secret" })).resolves.toBeTruthy();
    const wrong = await ring(store, undefined, { keyEncryptionKey: "another long secret" }).catch(
      (e: unknown) => e,
    );
    expect((wrong as ProlongError).code).toBe("invalid_config");
    const none = await ring(store).catch((e: unknown) => e);
    expect((none as ProlongError).code).toBe("invalid_config");
  });

  describe("a key-encryption secret set on a store that has keys", () => {
    const secret = { keyEncryptionKey: "a long enough secret" };
    const sealed = (text: string) => text.startsWith("enc:v1:");

    it.each(["EdDSA", "HS256"] as SigningAlg[])(
      "seals the keys stored before it, at load (%s)",
      async (alg) => {
        const store = await testStore();
        const clock = new FakeClock();
        const before = await ring(store, clock, { alg });
        await before.rotate({ force: true });
        const stored = await store.keys.listKeys();
        expect(stored).toHaveLength(3);
        expect(stored.some((k) => sealed(k.privateKey))).toBe(false);

        const after = await ring(store, clock, { alg, ...secret });
        const resealed = await store.keys.listKeys();
        expect(resealed.map((k) => k.kid).sort()).toEqual(stored.map((k) => k.kid).sort());
        for (const key of resealed) {
          expect(sealed(key.privateKey)).toBe(true);
          expect(key.privateKey).not.toContain(alg === "HS256" ? '"k"' : '"d"');
          // Only the private key changed: states and times are as they were.
          const was = stored.find((k) => k.kid === key.kid);
          expect({ ...key, privateKey: "" }).toEqual({ ...was, privateKey: "" });
        }
        // The same keys sign and verify: a token of the old ring verifies with the new one.
        expect(after.active.kid).toBe(before.active.kid);
        const token = await new SignJWT({})
          .setProtectedHeader({ alg, kid: after.active.kid })
          .sign(after.active.signingKey);
        await expect(jwtVerify(token, before.active.verificationKey)).resolves.toBeTruthy();
      },
    );

    it("seals once when two instances start with it together", async () => {
      const store = await testStore();
      const clock = new FakeClock();
      await ring(store, clock);
      const [a, b] = await Promise.all([ring(store, clock, secret), ring(store, clock, secret)]);
      expect(a.active.kid).toBe(b.active.kid);
      const stored = await store.keys.listKeys();
      expect(stored.every((k) => sealed(k.privateKey))).toBe(true);
      await expect(ring(store, clock, secret)).resolves.toBeTruthy();
    });

    it("refuses to load without it while sealed keys exist, saying what to do, and makes no key", async () => {
      const store = await testStore();
      const clock = new FakeClock();
      await ring(store, clock);
      await ring(store, clock, secret);
      const stored = await store.keys.listKeys();
      const error = await failure(ring(store, clock));
      expect(error.code).toBe("invalid_config");
      expect(error.message).toBe(
        "2 stored signing keys are sealed with a key-encryption key, and none is set: set keyEncryptionKey (PROLONG_KEY_ENCRYPTION_KEY) to the one they were sealed with; to stop using one, run `prolong keys unseal` with it still set, then remove it",
      );
      expect(await store.keys.listKeys()).toEqual(stored);
    });

    it("can be removed once `unseal` stored the keys in plain text again", async () => {
      const store = await testStore();
      const clock = new FakeClock();
      const withSecret = await ring(store, clock, secret);
      expect(await withSecret.unseal()).toBe(2);
      expect(await withSecret.unseal()).toBe(0);
      for (const key of await store.keys.listKeys()) expect(JSON.parse(key.privateKey)).toHaveProperty("d");
      const without = await ring(store, clock);
      expect(without.active.kid).toBe(withSecret.active.kid);
      expect((await store.keys.listKeys()).map((k) => k.kid).sort()).toEqual(
        withSecret.keys.map((k) => k.kid).sort(),
      );
    });
  });

  it("stores private keys in plain JWK form only when no secret is configured", async () => {
    const store = await testStore();
    await ring(store);
    const [stored] = await store.keys.listKeys();
    expect(JSON.parse(stored?.privateKey as string)).toHaveProperty("d");
  });

  it("refuses an algorithm it does not know", async () => {
    const error = await ring(undefined, undefined, { alg: "none" as SigningAlg }).catch((e: unknown) => e);
    expect((error as ProlongError).code).toBe("invalid_config");
  });
});

describe("shared secrets", () => {
  it("gives every engine on one store the same 256 bits per name, and other bits per name", async () => {
    const store = await testStore();
    const engine = () =>
      SessionEngine.create({ store, issuer: "https://auth.example.test", passwordCost: testPasswordCost });
    const [first, second] = await Promise.all([engine(), engine()]);
    const [a, b] = await Promise.all([first.sharedSecret("one"), second.sharedSecret("one")]);
    expect(a).toHaveLength(32);
    expect(Buffer.from(b).equals(Buffer.from(a))).toBe(true);
    const other = await first.sharedSecret("two");
    expect(Buffer.from(other).equals(Buffer.from(a))).toBe(false);
  });
});

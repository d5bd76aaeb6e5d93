import { generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { createServer, type Server } from "node:http";
import { createVerifier, importVerificationKey } from "@prolong/verify";
import type { JWK } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import { AUDIENCE, claims, ISSUER, makeKeys, NOW, signRaw, token } from "./fixtures.js";

const keys = makeKeys();

/** Signs raw header and payload bytes, for what `signRaw`'s strings cannot carry. */
function signBytes(header: Buffer, payload: Buffer) {
  const input = `${header.toString("base64url")}.${payload.toString("base64url")}`;
  const signature = sign(null, Buffer.from(input), keys.EdDSA.privateKey as KeyObject);
  return `${input}.${signature.toString("base64url")}`;
}

describe("text encoding", () => {
  it("refuses claims that are not UTF-8 instead of replacing the bad bytes", async () => {
    const verifier = await createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: [keys.EdDSA.jwk],
      now: () => NOW * 1000,
    });
    const header = Buffer.from(JSON.stringify({ alg: "EdDSA", typ: "at+jwt", kid: keys.EdDSA.kid }));
    const text = JSON.stringify(claims({ name: "@" }));
    // 0xC0 0x80 is an overlong NUL, 0xFF never occurs in UTF-8; a lenient decoder turns both into U+FFFD.
    for (const bad of [
      [0xc0, 0x80],
      [0xff, 0xff],
    ]) {
      const payload = Buffer.concat([
        Buffer.from(text.slice(0, text.indexOf("@"))),
        Buffer.from(bad),
        Buffer.from(text.slice(text.indexOf("@") + 1)),
      ]);
      expect(await verifier.verify(signBytes(header, payload))).toMatchObject({
        ok: false,
        reason: "not UTF-8",
      });
    }
    const badHeader = Buffer.concat([header.subarray(0, -1), Buffer.from(',"x":"\xff"}', "latin1")]);
    expect(await verifier.verify(signBytes(badHeader, Buffer.from(text)))).toMatchObject({
      ok: false,
      reason: "not UTF-8",
    });
    // The same token with valid UTF-8 is fine, so the refusals above are about the bytes.
    expect((await verifier.verify(signRaw(keys.EdDSA, header.toString(), text))).ok).toBe(true);
  });
});

describe("duplicate member names in large objects", () => {
  it("are found past the small-object fast path, at any depth", async () => {
    const verifier = await createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: [keys.EdDSA.jwk],
      now: () => NOW * 1000,
    });
    const many = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`c${i}`, i]));
    const base = JSON.stringify(claims(many));
    const header = JSON.stringify({ alg: "EdDSA", typ: "at+jwt", kid: keys.EdDSA.kid });
    expect((await verifier.verify(signRaw(keys.EdDSA, header, base))).ok).toBe(true);
    const top = `${base.slice(0, -1)},"c3":"again"}`;
    expect(await verifier.verify(signRaw(keys.EdDSA, header, top))).toMatchObject({
      ok: false,
      reason: 'duplicate member "c3"',
    });
    const nested = `${base.slice(0, -1)},"extra":${JSON.stringify(many).slice(0, -1)},"c39":0}}`;
    expect(await verifier.verify(signRaw(keys.EdDSA, header, nested))).toMatchObject({
      ok: false,
      reason: 'duplicate member "c39"',
    });
  });
});

describe("key import", () => {
  it("keeps only the public part of a JWK that carries a private key", async () => {
    const pair = generateKeyPairSync("ed25519");
    const privateJwk = { ...(pair.privateKey.export({ format: "jwk" }) as JWK), kid: "leaked" };
    expect(privateJwk.d).toBeTypeOf("string");
    const imported = await importVerificationKey(privateJwk, ["EdDSA"]);
    // A node:crypto KeyObject and a Web Crypto CryptoKey both say what they are in `type`.
    expect((imported.key as { type: string }).type).toBe("public");
  });

  it("lets the key, not the token, decide the algorithm (RFC 8725 §3.1)", async () => {
    await expect(
      importVerificationKey({ ...keys.ES256.jwk, alg: "HS256" }, ["ES256", "HS256"]),
    ).rejects.toThrow(/does not fit/);
    await expect(importVerificationKey(keys.ES256.jwk, ["EdDSA"])).rejects.toThrow(/not allowed/);
  });
});

describe("JWKS outage", () => {
  let server: Server | null = null;
  afterEach(() => {
    server?.close();
    server = null;
  });

  it("keeps verifying with keys it already trusts while the issuer is down, but learns no new kid", async () => {
    const state = { up: true };
    server = createServer((_req, res) => {
      if (!state.up) {
        res.writeHead(503).end();
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ keys: [keys.EdDSA.jwk] }));
    });
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    let now = NOW * 1000;
    const verifier = await createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUri: `http://127.0.0.1:${port}/jwks`,
      jwks: { maxAgeMs: 60_000, cooldownMs: 1_000 },
      now: () => now,
    });
    expect((await verifier.verify(token(keys.EdDSA))).ok).toBe(true);
    state.up = false;
    // Past maxAge the cache wants a refresh; the refresh fails, the known key still serves.
    now += 120_000;
    expect((await verifier.verify(token(keys.EdDSA, { iat: NOW + 120, exp: NOW + 400 }))).ok).toBe(true);
    now += 2_000;
    expect(await verifier.verify(token(keys.ES256, { iat: NOW + 122, exp: NOW + 400 }))).toMatchObject({
      ok: false,
      code: "unavailable",
    });
  });
});

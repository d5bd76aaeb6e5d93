import { webcrypto } from "node:crypto";
import {
  createSessionClient,
  type DpopKeyPair,
  memoryStorage,
  type SessionClientOptions,
} from "@prolong/client";
import { calculateJwkThumbprint, type JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningServer, startServerWithConfig } from "./server-process.js";

/** A real `prolong serve` whose native profile requires DPoP, and @prolong/client in Node with `dpop`. */
let server: RunningServer;
let issuer: string;

beforeAll(async () => {
  server = await startServerWithConfig({ demo: true, profiles: { native: { dpop: "required" } } });
  issuer = server.url.replace("127.0.0.1", "localhost");
}, 30_000);
afterAll(async () => {
  await server?.stop();
});

/** A native client with a key of its own, kept where the test can read its public half. */
function boundClient(storage = memoryStorage()) {
  const kept: { pair: DpopKeyPair | null } = { pair: null };
  const signedOut: string[] = [];
  const errors: string[] = [];
  /** The token endpoint's answers, as the server sent them. */
  const grants: { status: number; error?: string }[] = [];
  const watched: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    if (String(input instanceof Request ? input.url : input).endsWith("/oauth/token")) {
      const body = await response.clone().json();
      grants.push(response.ok ? { status: response.status } : { status: response.status, error: body.error });
    }
    return response;
  };
  const options: SessionClientOptions = {
    issuer,
    profile: "native",
    storage,
    fetch: watched,
    timers: { setTimeout: () => 0, clearTimeout: () => {} },
    dpop: {
      keyStore: {
        load: async () => kept.pair,
        save: async (pair) => {
          kept.pair = pair;
        },
      },
    },
  };
  const client = createSessionClient(options);
  client.on("signedOut", (e) => signedOut.push(e.reason));
  client.on("error", (e) => errors.push(e.code));
  const thumbprint = async () => {
    const jwk = await webcrypto.subtle.exportKey("jwk", kept.pair?.publicKey as webcrypto.CryptoKey);
    return calculateJwkThumbprint(jwk as JWK);
  };
  return { client, storage, signedOut, errors, grants, thumbprint };
}

describe("@prolong/client in Node with DPoP against the real server", () => {
  it("binds the session to its key, and a refresh token copied to a client with another key is refused and ends the session", async () => {
    const owner = boundClient();
    await owner.client.signIn({ username: "demo", password: server.demoPassword as string });
    const jkt = await owner.thumbprint();
    expect(owner.client.claims?.cnf).toEqual({ jkt });
    expect(await owner.client.refresh()).toBe(true);
    expect(owner.client.claims?.cnf).toEqual({ jkt });
    const hello = await owner.client.fetch(`${issuer}/demo/api/hello`);
    expect(hello.status).toBe(200);

    const copied = await owner.storage.get();
    expect(copied).toEqual(expect.any(String));
    const thief = boundClient(memoryStorage());
    await thief.storage.set(copied);
    expect(await thief.client.start()).toBe(false);
    expect(await thief.thumbprint()).not.toBe(jkt);
    expect(thief.grants).toEqual([{ status: 400, error: "invalid_grant" }]);

    // docs/bound-sessions.md: the session is revoked, so its owner is signed out too.
    expect(await owner.client.refresh()).toBe(false);
    expect(owner.grants).toEqual([{ status: 200 }, { status: 400, error: "invalid_grant" }]);
    expect(owner.signedOut).toEqual(["revoked"]);
    owner.client.stop();
    thief.client.stop();
  });
});

import type { Server } from "node:http";
import { createProlong, type Prolong } from "@prolong/server";
import express from "express";
import Fastify, { type FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { dpopKey, proof } from "../packages/server/test/dpop-fixtures.js";
import { freePort } from "./server-process.js";

/**
 * DPoP in a host application (docs/bound-sessions.md, "Turning DPoP on"): prolong mounted
 * under `/auth` of an Express app and of a Fastify app checks proofs against the issuer's
 * URLs, binds sessions and takes bound tokens on its bearer routes as it does standalone.
 */
const PASSWORD = "the host's own password";
const closing: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closing.splice(0).reverse()) await close();
});

async function prolongAt(issuer: string): Promise<Prolong> {
  const prolong = await createProlong(
    { issuer, store: "memory:", profiles: { native: { dpop: "allowed" } } },
    { engine: { passwordCost: { N: 1024, r: 8, p: 1 } }, logStream: { write: () => {} } },
  );
  closing.push(() => prolong.close());
  await prolong.engine.createAccount({ username: "maryo", password: PASSWORD });
  return prolong;
}

/** Sign-in, refresh, a bearer route as DPoP, and a stolen refresh token, against `base` (the host's socket). */
async function bindAndUse(base: string, issuer: string, prolong: Prolong) {
  const key = await dpopKey();
  const post = (path: string, dpop: string | null, body: string, type: string) =>
    fetch(`${base}/auth${path}`, {
      method: "POST",
      headers: { "content-type": type, ...(dpop === null ? {} : { dpop }) },
      body,
    });
  const signedIn = await post(
    "/login",
    await proof(key, { now: Date.now(), htu: `${issuer}/login` }),
    JSON.stringify({ username: "maryo", password: PASSWORD, client_id: "native" }),
    "application/json",
  );
  expect(signedIn.status).toBe(200);
  const session = (await signedIn.json()) as {
    refresh_token: string;
    session_id: string;
    token_type: string;
  };
  expect(session.token_type).toBe("DPoP");

  const form = (token: string) =>
    new URLSearchParams({
      grant_type: "refresh_token",
      refresh_token: token,
      client_id: "native",
    }).toString();
  const urlencoded = "application/x-www-form-urlencoded";
  const refreshed = await post(
    "/oauth/token",
    await proof(key, { now: Date.now(), htu: `${issuer}/oauth/token` }),
    form(session.refresh_token),
    urlencoded,
  );
  expect(refreshed.status).toBe(200);
  const tokens = (await refreshed.json()) as { access_token: string; refresh_token: string };

  const sessions = await fetch(`${base}/auth/sessions`, {
    headers: {
      authorization: `DPoP ${tokens.access_token}`,
      dpop: await proof(key, {
        now: Date.now(),
        htm: "GET",
        htu: `${issuer}/sessions`,
        accessToken: tokens.access_token,
      }),
    },
  });
  expect(sessions.status).toBe(200);

  const stolen = await post("/oauth/token", null, form(tokens.refresh_token), urlencoded);
  expect(stolen.status).toBe(400);
  expect(((await stolen.json()) as { error: string }).error).toBe("invalid_grant");
  expect((await prolong.engine.findSession(session.session_id))?.revokedReason).toBe("key_mismatch");
}

describe("DPoP in a host application", () => {
  it("works under an Express app's /auth", async () => {
    const port = await freePort();
    const issuer = `http://localhost:${port}/auth`;
    const prolong = await prolongAt(issuer);
    const app = express();
    app.use(express.json());
    app.use(express.urlencoded({ extended: false }));
    app.use("/auth", prolong.expressHandler());
    const server = await new Promise<Server>((resolve) => {
      const listening = app.listen(port, "127.0.0.1", () => resolve(listening));
    });
    closing.push(() => new Promise((resolve) => server.close(resolve)));
    await bindAndUse(`http://127.0.0.1:${port}`, issuer, prolong);
  });

  it("works under a Fastify app's /auth", async () => {
    const port = await freePort();
    const issuer = `http://localhost:${port}/auth`;
    const prolong = await prolongAt(issuer);
    const app: FastifyInstance = Fastify();
    await app.register(prolong.fastifyPlugin, { prefix: "/auth" });
    closing.push(() => app.close());
    await app.listen({ port, host: "127.0.0.1" });
    await bindAndUse(`http://127.0.0.1:${port}`, issuer, prolong);
  });
});

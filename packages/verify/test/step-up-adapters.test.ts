import { createServer, type Server } from "node:http";
import { serve } from "@hono/node-server";
import { KeyRing, signAccessToken } from "@prolong/core";
import type { AccessTokenClaims } from "@prolong/protocol";
import { MemoryKeyStore } from "@prolong/store-memory";
import { createVerifier, type GuardOptions, type Verifier } from "@prolong/verify";
import { expressGuard } from "@prolong/verify/express";
import { fastifyGuard } from "@prolong/verify/fastify";
import { fetchGuard } from "@prolong/verify/fetch";
import { honoGuard } from "@prolong/verify/hono";
import { koaGuard } from "@prolong/verify/koa";
import { nodeGuard } from "@prolong/verify/node";
import express from "express";
import Fastify from "fastify";
import { Hono } from "hono";
import { calculateJwkThumbprint, type JWK, jwtVerify } from "jose";
import Koa from "koa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listenOnLoopback as listen, type Listening as Running } from "../../../testing/listen.js";
import { AUDIENCE, ISSUER } from "./fixtures.js";
import { ath, makeProof, proofKey } from "./proofs.js";

/**
 * RFC 9470 step-up at every adapter and the Fetch-API guard, each a real server on
 * loopback guarding `/admin` with `{ maxAge: 60, acr: ["mfa", "hwk"] }` and `/open`
 * with nothing; the tokens are signed by prolong's core, as the server signs them.
 */

const ADMIN: GuardOptions = { realm: "api", maxAge: 60, acr: ["mfa", "hwk"] };
const OPEN: GuardOptions = { realm: "api" };
const ALGS = 'algs="ES256 EdDSA RS256 PS256"';
const now = () => Math.floor(Date.now() / 1000);

function serveFetch(handler: (request: Request) => Response | Promise<Response>): Promise<Running> {
  return new Promise((resolve) => {
    const server = serve({ fetch: handler, port: 0, hostname: "127.0.0.1" }, () => {
      const { port } = (server as Server).address() as { port: number };
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise<void>((done) => {
            (server as Server).closeAllConnections();
            server.close(() => done());
          }),
      });
    }) as Server;
  });
}

/** `/admin` and `/open` on every framework, answering `{sub, acr}` from the claims. */
const frameworks: Record<string, (verifier: Verifier) => Promise<Running>> = {
  express: (verifier) => {
    const app = express();
    const answer = (_req: express.Request, res: express.Response) => {
      res.json({ sub: res.locals.auth.sub, acr: res.locals.auth.acr });
    };
    app.get("/admin", expressGuard(verifier, ADMIN), answer);
    app.get("/open", expressGuard(verifier, OPEN), answer);
    return listen(createServer(app));
  },
  fastify: async (verifier) => {
    const app = Fastify();
    const handler = async (request: { auth?: AccessTokenClaims }) => ({
      sub: request.auth?.sub,
      acr: request.auth?.acr,
    });
    app.get("/admin", { preHandler: fastifyGuard(verifier, ADMIN) }, handler);
    app.get("/open", { preHandler: fastifyGuard(verifier, OPEN) }, handler);
    const url = await app.listen({ port: 0, host: "127.0.0.1" });
    return { url, close: () => app.close() };
  },
  hono: (verifier) => {
    const app = new Hono<{ Variables: { auth: AccessTokenClaims } }>();
    app.use("/admin", honoGuard(verifier, ADMIN));
    app.use("/open", honoGuard(verifier, OPEN));
    app.get("/:route", (c) => c.json({ sub: c.get("auth").sub, acr: c.get("auth").acr }));
    return serveFetch(app.fetch);
  },
  koa: (verifier) => {
    const app = new Koa();
    const admin = koaGuard(verifier, ADMIN);
    const open = koaGuard(verifier, OPEN);
    app.use((ctx, next) => (ctx.path === "/admin" ? admin(ctx, next) : open(ctx, next)));
    app.use((ctx) => {
      ctx.body = { sub: ctx.state.auth.sub, acr: ctx.state.auth.acr };
    });
    return listen(createServer(app.callback()));
  },
  node: (verifier) => {
    const admin = nodeGuard(verifier, ADMIN);
    const open = nodeGuard(verifier, OPEN);
    return listen(
      createServer(async (req, res) => {
        const claims = await (req.url === "/admin" ? admin : open)(req, res);
        if (!claims) return;
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ sub: claims.sub, acr: claims.acr }));
      }),
    );
  },
  fetch: (verifier) => {
    const admin = fetchGuard(verifier, ADMIN);
    const open = fetchGuard(verifier, OPEN);
    return serveFetch(async (request) => {
      const auth = await (new URL(request.url).pathname === "/admin" ? admin : open)(request);
      if (!auth.ok) return auth.response;
      return Response.json({ sub: auth.claims.sub, acr: auth.claims.acr }, { headers: auth.headers });
    });
  },
};

let ring: KeyRing;
let publicJwk: JWK;

/** A token as prolong's core signs it for a session with these authentication facts. */
function issued(facts: { authAgo: number; acr?: string; amr?: string[]; jkt?: string }): string {
  const t = now();
  const claims: AccessTokenClaims = {
    iss: ISSUER,
    sub: "user-1",
    aud: AUDIENCE,
    exp: t + 300,
    iat: t,
    jti: `jti-${Math.random().toString(36).slice(2)}`,
    client_id: "web",
    sid: "session-1",
    ver: 0,
    auth_time: t - facts.authAgo,
    rfa: t + 240,
    ...(facts.acr === undefined ? {} : { acr: facts.acr }),
    ...(facts.amr === undefined ? {} : { amr: facts.amr }),
    ...(facts.jkt === undefined ? {} : { cnf: { jkt: facts.jkt } }),
  };
  return signAccessToken(ring.active, claims);
}

beforeAll(async () => {
  ring = await KeyRing.load({ store: new MemoryKeyStore(), clock: { now: Date.now }, retainFor: 360 });
  publicJwk = ring.active.publicJwk as JWK;
});

describe("a token prolong's core signs", () => {
  it("carries acr and amr that jose reads", async () => {
    const jwt = issued({ authAgo: 5, acr: "mfa", amr: ["pwd", "otp"] });
    const { payload, protectedHeader } = await jwtVerify(jwt, ring.active.verificationKey, {
      issuer: ISSUER,
      audience: AUDIENCE,
      typ: "at+jwt",
    });
    expect(protectedHeader.kid).toBe(ring.active.kid);
    expect(payload.acr).toBe("mfa");
    expect(payload.amr).toEqual(["pwd", "otp"]);
  });
});

interface Answer {
  status: number;
  challenge: string | null;
  body: Record<string, unknown>;
}

async function call(url: string, authorization: string, dpop?: string): Promise<Answer> {
  const headers: Record<string, string> = { authorization };
  if (dpop !== undefined) headers.dpop = dpop;
  const response = await fetch(url, { headers });
  return {
    status: response.status,
    challenge: response.headers.get("www-authenticate"),
    body: (await response.json()) as Record<string, unknown>,
  };
}

for (const [framework, start] of Object.entries(frameworks)) {
  describe(`step-up at the ${framework} guard`, () => {
    let running: Running;

    beforeAll(async () => {
      const verifier = await createVerifier({ issuer: ISSUER, audience: AUDIENCE, keys: [publicJwk] });
      running = await start(verifier);
    });
    afterAll(() => running.close());

    it("refuses an authentication older than maxAge with the challenge, and lets a fresh one through", async () => {
      const old = issued({ authAgo: 120, acr: "mfa", amr: ["pwd", "otp"] });
      expect(await call(`${running.url}/admin`, `Bearer ${old}`)).toEqual({
        status: 401,
        challenge:
          'Bearer realm="api", error="insufficient_user_authentication", error_description="authentication is too old", max_age=60, acr_values="mfa hwk"',
        body: {
          error: "insufficient_user_authentication",
          error_description: "authentication is too old",
          max_age: 60,
          acr_values: "mfa hwk",
        },
      });
      // The same token is good where the route asks for nothing more.
      expect(await call(`${running.url}/open`, `Bearer ${old}`)).toMatchObject({ status: 200 });
      const fresh = issued({ authAgo: 5, acr: "hwk" });
      expect(await call(`${running.url}/admin`, `Bearer ${fresh}`)).toEqual({
        status: 200,
        challenge: null,
        body: { sub: "user-1", acr: "hwk" },
      });
    });

    it("refuses an acr outside the set, or none", async () => {
      for (const acr of ["pwd", undefined]) {
        const answer = await call(`${running.url}/admin`, `Bearer ${issued({ authAgo: 5, acr })}`);
        expect(answer).toMatchObject({
          status: 401,
          challenge:
            'Bearer realm="api", error="insufficient_user_authentication", error_description="authentication context is not accepted", max_age=60, acr_values="mfa hwk"',
          body: { error: "insufficient_user_authentication" },
        });
      }
    });

    it("answers a bound token under the DPoP scheme", async () => {
      const key = proofKey("ES256");
      const bound = issued({
        authAgo: 120,
        acr: "mfa",
        jkt: await calculateJwkThumbprint(key.jwk, "sha256"),
      });
      const url = `${running.url}/admin`;
      const proof = makeProof(key, "GET", url, now(), { claims: { ath: ath(bound) } });
      expect(await call(url, `DPoP ${bound}`, proof)).toMatchObject({
        status: 401,
        challenge: `DPoP realm="api", error="insufficient_user_authentication", error_description="authentication is too old", max_age=60, acr_values="mfa hwk", ${ALGS}`,
        body: { error: "insufficient_user_authentication", max_age: 60 },
      });
    });
  });
}

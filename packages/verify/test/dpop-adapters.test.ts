import { createHmac } from "node:crypto";
import { createServer, type Server } from "node:http";
import { serve } from "@hono/node-server";
import { createDpopNonces, createVerifier, type Verifier, type VerifierOptions } from "@prolong/verify";
import { expressGuard } from "@prolong/verify/express";
import { fastifyGuard } from "@prolong/verify/fastify";
import { fetchGuard } from "@prolong/verify/fetch";
import { honoGuard } from "@prolong/verify/hono";
import { koaGuard } from "@prolong/verify/koa";
import { nodeGuard } from "@prolong/verify/node";
import * as dpop from "dpop";
import express from "express";
import Fastify from "fastify";
import { Hono } from "hono";
import { calculateJwkThumbprint } from "jose";
import Koa from "koa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listenOnLoopback as listen, type Listening as Running } from "../../../testing/listen.js";
import { AUDIENCE, b64, ISSUER, makeKeys, token } from "./fixtures.js";
import { ath, makeProof, type ProofKey, proofKey } from "./proofs.js";

/**
 * RFC 9449 §7 at every adapter and the Fetch-API guard, each a real server on loopback:
 * a bound access token passes only under the DPoP scheme with a fresh proof made with
 * its key for this request, and each attack on that is refused alike everywhere.
 */

const keys = makeKeys();
const now = () => Math.floor(Date.now() / 1000);
const ALGS = 'algs="ES256 EdDSA RS256 PS256"';
/** The origin clients use when the server sits behind a proxy. */
const PUBLIC = "https://api.public.test";

/** A token as prolong issues it now, bound to `key` when one is given. */
async function accessToken(key?: ProofKey, extra: Record<string, unknown> = {}): Promise<string> {
  const t = now();
  const cnf = key ? { cnf: { jkt: await calculateJwkThumbprint(key.jwk, "sha256") } } : {};
  return token(keys.EdDSA, { iat: t, exp: t + 300, rfa: t + 240, auth_time: t, ...cnf, ...extra });
}

/**
 * `behindProxy`: the framework's own proxy rule is switched on (Express `trust proxy`,
 * Fastify `trustProxy`, Koa `proxy`), or, where there is none, `publicOrigin` is given.
 */
type Start = (verifier: Verifier, behindProxy: boolean) => Promise<Running>;

const frameworks: Record<string, Start> = {
  express: (verifier, behindProxy) => {
    const app = express();
    if (behindProxy) app.set("trust proxy", "loopback");
    app.all("/api", expressGuard(verifier, { realm: "api" }), (_req, res) => {
      res.json({ sub: res.locals.auth.sub });
    });
    return listen(createServer(app));
  },
  fastify: async (verifier, behindProxy) => {
    const app = Fastify({ trustProxy: behindProxy ? "127.0.0.1" : false });
    app.route({
      method: ["GET", "POST"],
      url: "/api",
      preHandler: fastifyGuard(verifier, { realm: "api" }),
      handler: async (request) => ({ sub: request.auth?.sub }),
    });
    const url = await app.listen({ port: 0, host: "127.0.0.1" });
    return { url, close: () => app.close() };
  },
  koa: (verifier, behindProxy) => {
    const app = new Koa({ proxy: behindProxy });
    app.use(koaGuard(verifier, { realm: "api" }));
    app.use((ctx) => {
      ctx.body = { sub: ctx.state.auth.sub };
    });
    return listen(createServer(app.callback()));
  },
  hono: (verifier, behindProxy) => {
    const app = new Hono<{ Variables: { auth: { sub: string } } }>();
    app.use("/api", honoGuard(verifier, { realm: "api", ...(behindProxy ? { publicOrigin: PUBLIC } : {}) }));
    app.all("/api", (c) => c.json({ sub: c.get("auth").sub }));
    return serveFetch(app.fetch);
  },
  node: (verifier, behindProxy) => {
    const guard = nodeGuard(verifier, { realm: "api", ...(behindProxy ? { publicOrigin: PUBLIC } : {}) });
    return listen(
      createServer(async (req, res) => {
        const claims = await guard(req, res);
        if (!claims) return;
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ sub: claims.sub }));
      }),
    );
  },
  // The Fetch-API path of edge runtimes: a `(Request) => Response` handler, served here
  // by @hono/node-server only to reach it over HTTP like the others.
  fetch: (verifier, behindProxy) => {
    const guard = fetchGuard(verifier, { realm: "api", ...(behindProxy ? { publicOrigin: PUBLIC } : {}) });
    return serveFetch(async (request) => {
      const auth = await guard(request);
      if (!auth.ok) return auth.response;
      return Response.json({ sub: auth.claims.sub }, { headers: auth.headers });
    });
  },
};

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

interface Answer {
  status: number;
  challenge: string | null;
  error: string | null;
  nonce: string | null;
  sub: string | null;
}

async function call(
  url: string,
  authorization: string | null,
  proofs: string[] = [],
  init: { method?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers = new Headers(init.headers);
  if (authorization !== null) headers.set("authorization", authorization);
  for (const proof of proofs) headers.append("dpop", proof);
  const response = await fetch(url, { method: init.method ?? "GET", headers });
  const body = (await response.json()) as { error?: string; sub?: string };
  return {
    status: response.status,
    challenge: response.headers.get("www-authenticate"),
    error: body.error ?? null,
    nonce: response.headers.get("dpop-nonce"),
    sub: body.sub ?? null,
  };
}

const refusedProof = (status = 401) => ({
  status,
  challenge: `DPoP realm="api", error="invalid_dpop_proof", error_description="invalid proof", ${ALGS}`,
  error: "invalid_dpop_proof",
  sub: null,
});

const verifierOptions: VerifierOptions = { issuer: ISSUER, audience: AUDIENCE, keys: [keys.EdDSA.jwk] };

for (const [framework, start] of Object.entries(frameworks)) {
  describe(`DPoP at the ${framework} guard`, () => {
    let direct: Running;
    let proxied: Running;
    let target: string;
    const key = proofKey("ES256");
    const other = proofKey("ES256");
    let bound: string;

    beforeAll(async () => {
      direct = await start(await createVerifier(verifierOptions), false);
      proxied = await start(await createVerifier(verifierOptions), true);
      target = `${direct.url}/api`;
      bound = await accessToken(key);
    });
    afterAll(async () => {
      await direct.close();
      await proxied.close();
    });

    const proofFor = (k: ProofKey, t: string, shape: Parameters<typeof makeProof>[4] = {}, method = "GET") =>
      makeProof(k, method, target, now(), { ...shape, claims: { ath: ath(t), ...shape.claims } });

    it("lets a bound token through with a proof made with its key", async () => {
      expect(await call(target, `DPoP ${bound}`, [proofFor(key, bound)])).toMatchObject({
        status: 200,
        sub: "user-1",
      });
      // RFC 9110 §11.1: the scheme name is case-insensitive; the query is not part of htu.
      expect(await call(`${target}?page=2`, `dpop ${bound}`, [proofFor(key, bound)])).toMatchObject({
        status: 200,
      });
    });

    it("accepts proofs made by the dpop package", async () => {
      const pair = await dpop.generateKeyPair("ES256");
      const jkt = await dpop.calculateThumbprint(pair.publicKey);
      const t = now();
      const own = token(keys.EdDSA, { iat: t, exp: t + 300, rfa: t + 240, auth_time: t, cnf: { jkt } });
      const proof = await dpop.generateProof(pair, target, "GET", undefined, own);
      expect(await call(target, `DPoP ${own}`, [proof])).toMatchObject({ status: 200, sub: "user-1" });
    });

    it("refuses a bound token sent as a bearer token (RFC 9449 §7.2)", async () => {
      expect(await call(target, `Bearer ${bound}`, [proofFor(key, bound)])).toEqual({
        status: 401,
        challenge: 'Bearer realm="api", error="invalid_token", error_description="invalid"',
        error: "invalid_token",
        nonce: null,
        sub: null,
      });
    });

    it("refuses a bound token without a proof, or with two", async () => {
      expect(await call(target, `DPoP ${bound}`)).toMatchObject(refusedProof());
      expect(await call(target, `DPoP ${bound}`, [proofFor(key, bound), proofFor(key, bound)])).toMatchObject(
        refusedProof(),
      );
    });

    it("refuses a proof whose ath is for another token", async () => {
      const another = await accessToken(key, { jti: "jti-2" });
      expect(await call(target, `DPoP ${bound}`, [proofFor(key, another)])).toMatchObject(refusedProof());
    });

    it("refuses a proof made with another key (a stolen token)", async () => {
      expect(await call(target, `DPoP ${bound}`, [proofFor(other, bound)])).toMatchObject(refusedProof());
    });

    it("refuses a proof sent a second time", async () => {
      const proof = proofFor(key, bound);
      expect(await call(target, `DPoP ${bound}`, [proof])).toMatchObject({ status: 200 });
      expect(await call(target, `DPoP ${bound}`, [proof])).toMatchObject(refusedProof());
    });

    it("refuses a proof for another method or URL", async () => {
      expect(await call(target, `DPoP ${bound}`, [proofFor(key, bound, {}, "POST")])).toMatchObject(
        refusedProof(),
      );
      const elsewhere = proofFor(key, bound, { claims: { htu: `${direct.url}/other` } });
      expect(await call(target, `DPoP ${bound}`, [elsewhere])).toMatchObject(refusedProof());
      const post = proofFor(key, bound);
      expect(await call(target, `DPoP ${bound}`, [post], { method: "POST" })).toMatchObject(refusedProof());
    });

    it("refuses a proof whose iat is outside the window", async () => {
      const old = proofFor(key, bound, { claims: { iat: now() - 120 } });
      const future = proofFor(key, bound, { claims: { iat: now() + 60 } });
      expect(await call(target, `DPoP ${bound}`, [old])).toMatchObject(refusedProof());
      expect(await call(target, `DPoP ${bound}`, [future])).toMatchObject(refusedProof());
    });

    it("refuses alg none and HMAC proofs", async () => {
      const claims = b64(JSON.stringify({ jti: "x", htm: "GET", htu: target, iat: now(), ath: ath(bound) }));
      const none = `${b64(JSON.stringify({ typ: "dpop+jwt", alg: "none", jwk: key.jwk }))}.${claims}.`;
      expect(await call(target, `DPoP ${bound}`, [none])).toMatchObject(refusedProof());
      const secret = Buffer.alloc(32, 3);
      const hsInput = `${b64(JSON.stringify({ typ: "dpop+jwt", alg: "HS256", jwk: { kty: "oct", k: secret.toString("base64url") } }))}.${claims}`;
      const hs = `${hsInput}.${createHmac("sha256", secret).update(hsInput).digest("base64url")}`;
      expect(await call(target, `DPoP ${bound}`, [hs])).toMatchObject(refusedProof());
    });

    it("refuses an unbound token under the DPoP scheme, and lets it through as bearer", async () => {
      const unbound = await accessToken();
      expect(await call(target, `DPoP ${unbound}`, [proofFor(key, unbound)])).toMatchObject({
        status: 401,
        challenge: `DPoP realm="api", error="invalid_token", error_description="invalid", ${ALGS}`,
        error: "invalid_token",
      });
      expect(await call(target, `Bearer ${unbound}`)).toMatchObject({ status: 200, sub: "user-1" });
    });

    it("answers a malformed DPoP Authorization header with 400", async () => {
      expect(await call(target, "DPoP a b", [proofFor(key, bound)])).toMatchObject({
        status: 400,
        challenge: `DPoP realm="api", error="invalid_request", error_description="malformed Authorization header", ${ALGS}`,
      });
    });

    it("behind a proxy, takes the URL the client addressed, by the framework's rule or publicOrigin", async () => {
      const forwarded = { "x-forwarded-proto": "https", "x-forwarded-host": "api.public.test" };
      const publicProof = makeProof(key, "GET", `${PUBLIC}/api`, now(), { claims: { ath: ath(bound) } });
      expect(
        await call(`${proxied.url}/api`, `DPoP ${bound}`, [publicProof], { headers: forwarded }),
      ).toMatchObject({ status: 200 });
      // The loopback URL is not what the client addressed there.
      const loopbackProof = makeProof(key, "GET", `${proxied.url}/api`, now(), {
        claims: { ath: ath(bound) },
      });
      expect(
        await call(`${proxied.url}/api`, `DPoP ${bound}`, [loopbackProof], { headers: forwarded }),
      ).toMatchObject(refusedProof());
      // Without the rule, forwarded headers are anyone's to send and are not believed.
      const spoofed = makeProof(key, "GET", `${PUBLIC}/api`, now(), { claims: { ath: ath(bound) } });
      expect(await call(target, `DPoP ${bound}`, [spoofed], { headers: forwarded })).toMatchObject(
        refusedProof(),
      );
    });
  });
}

describe("DPoP nonces at the guards (RFC 9449 §9)", () => {
  const secret = "a resource server secret of 32 bytes at least!";
  for (const [framework, start] of Object.entries(frameworks)) {
    it(`${framework}: asks for a nonce with use_dpop_nonce, then accepts the retry`, async () => {
      const nonces = createDpopNonces({ secret });
      const running = await start(await createVerifier({ ...verifierOptions, dpop: { nonces } }), false);
      try {
        const key = proofKey("EdDSA");
        const bound = await accessToken(key);
        const url = `${running.url}/api`;
        const first = await call(url, `DPoP ${bound}`, [
          makeProof(key, "GET", url, now(), { claims: { ath: ath(bound) } }),
        ]);
        expect(first).toMatchObject({
          status: 401,
          error: "use_dpop_nonce",
          challenge: `DPoP realm="api", error="use_dpop_nonce", error_description="nonce required", ${ALGS}`,
          nonce: await nonces.current(),
        });
        const retry = makeProof(key, "GET", url, now(), { claims: { ath: ath(bound), nonce: first.nonce } });
        expect(await call(url, `DPoP ${bound}`, [retry])).toMatchObject({
          status: 200,
          sub: "user-1",
          nonce: null,
        });
        const stale = makeProof(key, "GET", url, now(), { claims: { ath: ath(bound), nonce: "stale" } });
        expect(await call(url, `DPoP ${bound}`, [stale])).toMatchObject({
          status: 401,
          error: "use_dpop_nonce",
        });
      } finally {
        await running.close();
      }
    });
  }
});

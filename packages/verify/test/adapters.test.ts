import { createServer, type Server } from "node:http";
import { serve } from "@hono/node-server";
import { createVerifier, type RevocationSource, type Verifier } from "@prolong/verify";
import { expressGuard } from "@prolong/verify/express";
import { fastifyGuard } from "@prolong/verify/fastify";
import { honoGuard } from "@prolong/verify/hono";
import { koaGuard } from "@prolong/verify/koa";
import { nodeGuard } from "@prolong/verify/node";
import express from "express";
import Fastify from "fastify";
import { Hono } from "hono";
import Koa from "koa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listenOnLoopback as listen, type Listening as Running } from "../../../testing/listen.js";
import { AUDIENCE, ISSUER, makeKeys, NOW, token } from "./fixtures.js";

/**
 * One table of cases, run against a real server of every framework on loopback: the
 * adapters must answer alike, because they are thin layers over one `authorize`.
 */

const keys = makeKeys();
const clock = { now: NOW * 1000 };
/** A stand-in for the feed, so a case can revoke a session or take the feed down. */
const revocations = { live: true, revoked: new Set<string>() };
const source: RevocationSource = {
  get live() {
    return revocations.live;
  },
  isRevoked: (claims) => revocations.revoked.has(claims.sid),
};

const FORM = "application/x-www-form-urlencoded";
const formBody = (raw: string) => Object.fromEntries(new URLSearchParams(raw));

/** The same route on every framework: `/hello` answers `{sub}` from the verified claims. */
const frameworks: Record<string, (verifier: Verifier) => Promise<Running>> = {
  express: (verifier) => {
    const app = express();
    app.use(express.urlencoded({ extended: false }));
    app.all("/hello", expressGuard(verifier, { realm: "api" }), (_req, res) => {
      res.json({ sub: res.locals.auth.sub });
    });
    return listen(createServer(app));
  },
  fastify: async (verifier) => {
    const app = Fastify();
    app.addContentTypeParser(FORM, { parseAs: "string" }, (_req, body, done) =>
      done(null, formBody(body as string)),
    );
    app.route({
      method: ["GET", "POST"],
      url: "/hello",
      preHandler: fastifyGuard(verifier, { realm: "api" }),
      handler: async (request) => ({ sub: request.auth?.sub }),
    });
    const url = await app.listen({ port: 0, host: "127.0.0.1" });
    return { url, close: () => app.close() };
  },
  hono: async (verifier) => {
    const app = new Hono<{ Variables: { auth: { sub: string } } }>();
    app.use("/hello", honoGuard(verifier, { realm: "api" }));
    app.all("/hello", (c) => c.json({ sub: c.get("auth").sub }));
    const server = await new Promise<Server>((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s as Server));
    });
    const { port } = server.address() as { port: number };
    return {
      url: `http://127.0.0.1:${port}`,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  },
  koa: (verifier) => {
    const app = new Koa();
    // What koa-bodyparser does, in a few lines: the guard reads `ctx.request.body`.
    app.use(async (ctx, next) => {
      if (ctx.is(FORM)) {
        let raw = "";
        for await (const chunk of ctx.req) raw += chunk;
        (ctx.request as { body?: unknown }).body = formBody(raw);
      }
      await next();
    });
    app.use(koaGuard(verifier, { realm: "api" }));
    app.use((ctx) => {
      ctx.body = { sub: ctx.state.auth.sub };
    });
    return listen(createServer(app.callback()));
  },
  node: (verifier) => {
    const guard = nodeGuard(verifier, { realm: "api" });
    return listen(
      createServer(async (req, res) => {
        let raw = "";
        for await (const chunk of req) raw += chunk;
        const body = req.headers["content-type"]?.startsWith(FORM) ? formBody(raw) : undefined;
        const claims = await guard(req, res, body);
        if (!claims) return;
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ sub: claims.sub }));
      }),
    );
  },
};

interface Case {
  name: string;
  /** Runs before the request, e.g. moves the clock or revokes the session. */
  arrange?: () => void;
  path?: string;
  authorization?: string;
  form?: string;
  status: number;
  /** Exact `WWW-Authenticate`, or null when there must be none. */
  challenge?: string | null;
  softExpiry?: string | null;
  sub?: string;
}

const bearer = (t: string) => `Bearer ${t}`;
const valid = token(keys.EdDSA);
const expired = token(keys.EdDSA, { iat: NOW - 400, exp: NOW - 100, rfa: NOW - 160 });
const forged = `${valid.slice(0, valid.lastIndexOf(".") + 1)}${"A".repeat(86)}`;
const invalidChallenge = 'Bearer realm="api", error="invalid_token", error_description="invalid"';

const cases: Case[] = [
  { name: "lets a valid token through", authorization: bearer(valid), status: 200, sub: "user-1" },
  // RFC 6750 §3: no error attribute when the request carried no credentials.
  { name: "challenges a request without credentials", status: 401, challenge: 'Bearer realm="api"' },
  {
    name: "treats another scheme as no bearer credentials",
    authorization: "Basic dXNlcjpwdw==",
    status: 401,
    challenge: 'Bearer realm="api"',
  },
  {
    name: "says expired for an expired token (RFC 6750 §3, docs/protocol.md)",
    authorization: bearer(expired),
    status: 401,
    challenge: 'Bearer realm="api", error="invalid_token", error_description="expired"',
  },
  {
    name: "says invalid for a forged token",
    authorization: bearer(forged),
    status: 401,
    challenge: invalidChallenge,
  },
  {
    name: "says invalid for a token of a revoked session",
    arrange: () => revocations.revoked.add("session-1"),
    authorization: bearer(valid),
    status: 401,
    challenge: invalidChallenge,
  },
  {
    name: "answers 503 when the feed is down and the verifier fails closed",
    arrange: () => {
      revocations.live = false;
    },
    authorization: bearer(valid),
    status: 503,
    challenge: null,
  },
  {
    name: "sends no soft-expiry header before rfa",
    authorization: bearer(valid),
    status: 200,
    softExpiry: null,
    sub: "user-1",
  },
  {
    name: "sends Prolong-Refresh: soon once rfa has passed (P11)",
    arrange: () => {
      clock.now = (NOW + 241) * 1000;
    },
    authorization: bearer(valid),
    status: 200,
    softExpiry: "soon",
    sub: "user-1",
  },
  {
    // RFC 6750 §2.3 allows it; URLs end up in logs and Referer headers, so prolong never does.
    name: "refuses a token in the query string",
    path: `/hello?access_token=${valid}`,
    status: 400,
    challenge: 'Bearer realm="api", error="invalid_request", error_description="token in query string"',
  },
  {
    name: "refuses a token in the header and another in the body (RFC 6750 §3.1)",
    authorization: bearer(valid),
    form: `access_token=${valid}`,
    status: 400,
    challenge: 'Bearer realm="api", error="invalid_request", error_description="more than one token"',
  },
  {
    name: "refuses an Authorization header that is not one bearer token",
    authorization: "Bearer a b",
    status: 400,
    challenge:
      'Bearer realm="api", error="invalid_request", error_description="malformed Authorization header"',
  },
];

for (const [framework, start] of Object.entries(frameworks)) {
  describe(`${framework} adapter`, () => {
    let running: Running;
    beforeAll(async () => {
      const verifier = await createVerifier({
        issuer: ISSUER,
        audience: AUDIENCE,
        keys: [keys.EdDSA.jwk],
        revocations: source,
        whenFeedDown: "closed",
        now: () => clock.now,
      });
      running = await start(verifier);
    });
    afterAll(() => running.close());

    it.each(cases)("$name", async (c) => {
      clock.now = NOW * 1000;
      revocations.live = true;
      revocations.revoked.clear();
      c.arrange?.();
      const headers: Record<string, string> = {};
      if (c.authorization) headers.authorization = c.authorization;
      if (c.form !== undefined) headers["content-type"] = FORM;
      const response = await fetch(`${running.url}${c.path ?? "/hello"}`, {
        method: c.form === undefined ? "GET" : "POST",
        headers,
        body: c.form,
      });
      expect(response.status).toBe(c.status);
      if (c.challenge !== undefined) expect(response.headers.get("www-authenticate")).toBe(c.challenge);
      if (c.softExpiry !== undefined) expect(response.headers.get("prolong-refresh")).toBe(c.softExpiry);
      const body = (await response.json()) as Record<string, unknown>;
      if (c.sub) expect(body).toEqual({ sub: c.sub });
      else expect(body).not.toHaveProperty("sub");
      if (c.status === 401 && c.challenge?.includes("error=")) expect(body.error).toBe("invalid_token");
      if (c.status === 400) expect(body.error).toBe("invalid_request");
    });
  });
}

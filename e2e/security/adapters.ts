import { createServer, type Server } from "node:http";
import { serve } from "@hono/node-server";
import type { Verifier } from "@prolong/verify";
import { expressGuard } from "@prolong/verify/express";
import { fastifyGuard } from "@prolong/verify/fastify";
import { honoGuard } from "@prolong/verify/hono";
import { koaGuard } from "@prolong/verify/koa";
import { nodeGuard } from "@prolong/verify/node";
import express from "express";
import Fastify from "fastify";
import { Hono } from "hono";
import Koa from "koa";
import { listenOnLoopback as listen } from "../../testing/listen.js";

/**
 * A tiny resource server per framework adapter of @prolong/verify, each a real HTTP
 * server on loopback with one protected route, `GET /api`, answering `{sub}` from the
 * verified claims. Realm `api`.
 */

export interface ResourceServer {
  framework: string;
  url: string;
  close: () => Promise<void>;
}

export const REALM = "api";

const frameworks: Record<
  string,
  (verifier: Verifier) => Promise<{ url: string; close: () => Promise<void> }>
> = {
  express: (verifier) => {
    const app = express();
    app.get("/api", expressGuard(verifier, { realm: REALM }), (_req, res) => {
      res.json({ sub: res.locals.auth.sub });
    });
    return listen(createServer(app));
  },
  fastify: async (verifier) => {
    const app = Fastify();
    app.get("/api", { preHandler: fastifyGuard(verifier, { realm: REALM }) }, async (request) => ({
      sub: request.auth?.sub,
    }));
    const url = await app.listen({ port: 0, host: "127.0.0.1" });
    return { url, close: () => app.close() };
  },
  hono: async (verifier) => {
    const app = new Hono<{ Variables: { auth: { sub: string } } }>();
    app.use("/api", honoGuard(verifier, { realm: REALM }));
    app.get("/api", (c) => c.json({ sub: c.get("auth").sub }));
    const server = await new Promise<Server>((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s as Server));
    });
    const { port } = server.address() as { port: number };
    return {
      url: `http://127.0.0.1:${port}`,
      close: () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    };
  },
  koa: (verifier) => {
    const app = new Koa();
    app.use(koaGuard(verifier, { realm: REALM }));
    app.use((ctx) => {
      ctx.body = { sub: ctx.state.auth.sub };
    });
    return listen(createServer(app.callback()));
  },
  "node:http": (verifier) => {
    const guard = nodeGuard(verifier, { realm: REALM });
    return listen(
      createServer(async (req, res) => {
        const claims = await guard(req, res);
        if (!claims) return;
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ sub: claims.sub }));
      }),
    );
  },
};

/** The names of every adapter, in a stable order. */
export const ADAPTERS = Object.keys(frameworks);

/** Starts one resource server per adapter, each with its own verifier from `makeVerifier`. */
export async function startResourceServers(makeVerifier: () => Promise<Verifier>): Promise<ResourceServer[]> {
  const servers: ResourceServer[] = [];
  for (const [framework, start] of Object.entries(frameworks)) {
    const running = await start(await makeVerifier());
    servers.push({ framework, ...running });
  }
  return servers;
}

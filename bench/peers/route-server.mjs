// One protected route, GET /api/me, served by Fastify or Express with one of three guards:
// none, prolong's verify adapter, or the framework's usual JWT plugin (@fastify/jwt,
// express-jwt). Started by bench/protected-route.mjs as a process of its own; bound to
// 127.0.0.1.
//   node bench/peers/route-server.mjs --framework fastify|express --guard G --keys FILE
// G: none, prolong, peer, prolong-cached or peer-cached (a verified-token cache of 10,000).
// FILE holds { alg, jwk, pem, issuer, audience }: the public key as a JWK (prolong) and as
// SPKI PEM (the peers), the same key for all. Prints "listening on URL" once up.
import { readFileSync } from "node:fs";
import { benchOptions } from "../lib/args.mjs";

const options = benchOptions({
  framework: { type: "string", choices: ["fastify", "express"] },
  guard: { type: "string", choices: ["none", "prolong", "peer", "prolong-cached", "peer-cached"] },
  keys: { type: "string" },
});
const { framework, guard } = options;
/** @type {{ alg: "EdDSA" | "ES256", jwk: import("jose").JWK, pem: string, issuer: string, audience: string }} */
const { alg, jwk, pem, issuer, audience } = JSON.parse(readFileSync(options.keys, "utf8"));

const cached = guard.endsWith("-cached");

/** prolong's verifier as an application sets it up: keys given up front; a cache if asked. */
async function prolongVerifier() {
  const { createVerifier } = await import("@prolong/verify");
  return createVerifier({ issuer, audience, keys: [jwk], algorithms: [alg], cacheSize: cached ? 10_000 : 0 });
}

async function fastifyServer() {
  const { default: Fastify } = await import("fastify");
  const app = Fastify({ logger: false });
  /** @type {import("fastify").RouteShorthandOptions} */
  const options = {};
  if (guard.startsWith("prolong")) {
    const { fastifyGuard } = await import("@prolong/verify/fastify");
    options.preHandler = fastifyGuard(await prolongVerifier());
  } else if (guard.startsWith("peer")) {
    const { default: fastifyJwt } = await import("@fastify/jwt");
    // fast-jwt underneath, with the same checks asked of it: algorithm, issuer, audience
    // (exp and nbf it checks by default); its cache as prolong's.
    await app.register(fastifyJwt, {
      secret: { public: pem },
      verify: { algorithms: [alg], allowedIss: issuer, allowedAud: audience, cache: cached ? 10_000 : false },
    });
    options.onRequest = async (request) => {
      await request.jwtVerify();
    };
  }
  app.get("/api/me", options, async (request) => ({
    sub: request.auth?.sub ?? /** @type {{ sub?: string } | undefined} */ (request.user)?.sub ?? "anonymous",
  }));
  await app.listen({ port: 0, host: "127.0.0.1" });
  return { url: `http://127.0.0.1:${listeningPort(app.server)}`, close: () => app.close() };
}

async function expressServer() {
  const { default: express } = await import("express");
  const app = express();
  /** @type {import("express").RequestHandler[]} */
  const chain = [];
  if (guard.startsWith("prolong")) {
    const { expressGuard } = await import("@prolong/verify/express");
    chain.push(expressGuard(await prolongVerifier()));
  } else if (guard.startsWith("peer")) {
    const { expressjwt } = await import("express-jwt");
    // jsonwebtoken underneath, with the same checks: algorithm, issuer, audience, exp.
    // It has no EdDSA, so Express's keys are ES256 (bench/protected-route.mjs).
    if (alg !== "ES256") throw new Error(`express-jwt cannot verify ${alg}`);
    chain.push(expressjwt({ secret: pem, algorithms: [alg], issuer, audience }));
  }
  app.get("/api/me", ...chain, (req, res) => {
    const peer = /** @type {import("express-jwt").Request} */ (req).auth;
    res.json({ sub: res.locals.auth?.sub ?? peer?.sub ?? "anonymous" });
  });
  // express-jwt hands a refused token to the error handler, as its documentation shows.
  app.use(
    /** @type {import("express").ErrorRequestHandler} */ (
      (error, _req, res, _next) => {
        res.status(error.status ?? 500).json({ error: error.code ?? "server_error" });
      }
    ),
  );
  /** @type {import("node:http").Server} */
  const server = await new Promise((resolve) => {
    const listening = app.listen(0, "127.0.0.1", () => resolve(listening));
  });
  return {
    url: `http://127.0.0.1:${listeningPort(server)}`,
    // Keep-alive connections would hold close() open until they time out.
    /** @returns {Promise<void>} */
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** @param {import("node:http").Server} server listening on a TCP port */
function listeningPort(server) {
  return /** @type {import("node:net").AddressInfo} */ (server.address()).port;
}

const server = framework === "fastify" ? await fastifyServer() : await expressServer();
console.log(`${framework} (${guard}) listening on ${server.url}`);
const stop = async () => {
  await server.close();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

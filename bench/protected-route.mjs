// One protected route (GET /api/me, answering the token's `sub`) behind prolong's verify
// adapter, beside the same route unprotected and behind the framework's usual JWT plugin:
// Fastify with @fastify/jwt, Express with express-jwt. Same key, same algorithm and the
// same token within a framework; real server processes; autocannon in its own process.
// Run after `npm run build`:
//   node bench/protected-route.mjs [--quick] [--duration 10] [--rounds 2] [--warmup 2] [--connections 16]
// Prints a table and writes bench/results/protected-route.json. Figures are ratios within
// one run on one machine; nothing here is asserted, and it never runs inside `npm test`.
//
// Algorithms: Fastify's three run on EdDSA (prolong's default; fast-jwt under
// @fastify/jwt supports it). express-jwt relies on jsonwebtoken, which has no EdDSA, so
// Express's three run on ES256.
//
// Per request, every guard reads the Authorization header, checks the signature and the
// issuer, audience and expiry; prolong's also checks `typ` (at+jwt), every claim of its
// access tokens, duplicate and prototype-polluting JSON member names, and canonical
// base64url (docs/protocol.md). No guard caches verified tokens.
import { createPublicKey, generateKeyPairSync, sign, verify } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { AUDIENCE, accessTokenClaims, ISSUER } from "./lib/access-token.mjs";
import { benchOptions } from "./lib/args.mjs";
import {
  boundedRun,
  describeErrors,
  measureAlternating,
  startFixedLoad,
  startServerScript,
} from "./lib/fixed-load.mjs";
import { stopServer } from "./lib/refresh-load.mjs";
import { benchFailed, clearProgress, fmt, printTable } from "./lib/report.mjs";
import { writeBenchResults } from "./lib/results.mjs";

const ROUTE_SERVER = fileURLToPath(new URL("./peers/route-server.mjs", import.meta.url));

const opt = benchOptions({
  duration: { type: "number", default: 10, quick: 3, min: 0.5, max: 3600 },
  rounds: { type: "number", default: 2, quick: 1, min: 1, max: 100, integer: true },
  warmup: { type: "number", default: 2, quick: 1, min: 0, max: 600 },
  connections: { type: "number", default: 16, min: 1, max: 1024, integer: true },
});

/**
 * The guards of each framework. The headline rows are uncached, as each library ships;
 * the "cache on" rows remember verified tokens (prolong's `cacheSize`, fast-jwt's
 * `cache`; express-jwt has none), which is what a route sees when each client sends its
 * access token many times during the token's life.
 */
const FRAMEWORKS = {
  fastify: {
    alg: "EdDSA",
    peer: "@fastify/jwt",
    guards: ["none", "prolong", "peer", "prolong-cached", "peer-cached"],
  },
  express: { alg: "ES256", peer: "express-jwt", guards: ["none", "prolong", "peer", "prolong-cached"] },
};

/** @typedef {keyof typeof FRAMEWORKS} Framework */
/** @typedef {"EdDSA" | "ES256"} Alg */
/** @typedef {import("./lib/fixed-load.mjs").Measured} Measured */
/** @typedef {{ signatureMicros: number, prolongVerifyMicros: number }} Costs */
/** One route: `key` is "framework/guard". */
/** @typedef {{ key: string, framework: Framework, guard: string, label: string }} Route */

/** @type {[Framework, { alg: Alg, peer: string, guards: string[] }][]} */
const FRAMEWORK_LIST = /** @type {any} */ (Object.entries(FRAMEWORKS));

/**
 * The library behind a guard, as the legend of the plots names it.
 * @param {Framework} framework
 * @param {string} guard
 */
const library = (framework, guard) =>
  guard === "none"
    ? "unprotected"
    : guard.startsWith("prolong")
      ? "@prolong/verify"
      : FRAMEWORKS[framework].peer;
const describe = (/** @type {Framework} */ framework, /** @type {string} */ guard) =>
  `${library(framework, guard)}${guard.endsWith("-cached") ? ", cache on" : ""}`;

/**
 * A key pair for `alg`, its public half as a JWK and as SPKI PEM, and a token shaped like prolong's.
 * @param {Alg} alg
 */
function material(alg) {
  const pair =
    alg === "EdDSA" ? generateKeyPairSync("ed25519") : generateKeyPairSync("ec", { namedCurve: "P-256" });
  const now = Math.floor(Date.now() / 1000);
  const header = { alg, typ: "at+jwt", kid: "k1" };
  const claims = accessTokenClaims(now, 1800);
  const encode = (/** @type {unknown} */ value) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const input = `${encode(header)}.${encode(claims)}`;
  const signature =
    alg === "EdDSA"
      ? sign(null, Buffer.from(input), pair.privateKey)
      : sign("sha256", Buffer.from(input), { key: pair.privateKey, dsaEncoding: "ieee-p1363" });
  return {
    keys: {
      alg,
      jwk: {
        .../** @type {import("jose").JWK} */ (pair.publicKey.export({ format: "jwk" })),
        kid: "k1",
        alg,
        use: "sig",
      },
      pem: pair.publicKey.export({ format: "pem", type: "spki" }).toString(),
      issuer: ISSUER,
      audience: AUDIENCE,
    },
    token: `${input}.${signature.toString("base64url")}`,
  };
}

/**
 * CPU µs of one signature check alone (node:crypto on prepared bytes) and of one
 * prolong verify, in this process: what no guard can go below, and what prolong's costs.
 * @param {ReturnType<typeof material>["keys"]} keys
 * @param {string} token
 * @returns {Promise<Costs>}
 */
async function inProcessCosts({ alg, jwk }, token) {
  const { createVerifier } = await import("@prolong/verify");
  const verifier = await createVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    keys: [jwk],
    algorithms: [alg],
  });
  const key = createPublicKey({ key: /** @type {import("node:crypto").JsonWebKey} */ (jwk), format: "jwk" });
  const [head, payload, signature = ""] = token.split(".");
  const data = Buffer.from(`${head}.${payload}`);
  const bytes = Buffer.from(signature, "base64url");
  const check =
    alg === "EdDSA"
      ? () => verify(null, data, key, bytes)
      : () => verify("sha256", data, { key, dsaEncoding: "ieee-p1363" }, bytes);
  if (!check() || !(await verifier.verify(token)).ok)
    throw new Error(`${alg}: the bench token does not verify`);
  const cost = async (/** @type {() => unknown} */ fn) => {
    let best = Number.POSITIVE_INFINITY;
    for (let round = 0; round < 5; round++) {
      const before = process.cpuUsage();
      for (let i = 0; i < 400; i++) await fn();
      const used = process.cpuUsage(before);
      best = Math.min(best, (used.user + used.system) / 400);
    }
    return best;
  };
  return {
    signatureMicros: await cost(check),
    prolongVerifyMicros: await cost(() => verifier.verify(token)),
  };
}

/**
 * Before any load: the route answers the token's sub, and a guarded one refuses a forged token.
 * @param {string} url
 * @param {string} token
 * @param {string} guard
 */
async function checkServer(url, token, guard) {
  const get = (/** @type {string} */ authorization) =>
    fetch(`${url}/api/me`, { headers: { authorization }, signal: AbortSignal.timeout(10_000) });
  const good = await get(`Bearer ${token}`);
  const body = await good.json();
  const expected = guard === "none" ? "anonymous" : "user-42";
  if (good.status !== 200 || body.sub !== expected)
    throw new Error(`${url} answered ${good.status} ${JSON.stringify(body)} to the bench token`);
  if (guard === "none") return;
  const [head, payload, signature = ""] = token.split(".");
  const altered = Buffer.from(signature, "base64url");
  altered.writeUInt8((altered.readUInt8(10) ^ 1) & 0xff, 10);
  const forged = `${head}.${payload}.${altered.toString("base64url")}`;
  const bad = await get(`Bearer ${forged}`);
  if (bad.status !== 401) throw new Error(`${url} answered ${bad.status} to a forged token`);
}

async function main() {
  /** @type {import("./lib/refresh-load.mjs").Children} */
  const children = new Set();
  const dir = mkdtempSync(join(tmpdir(), "prolong-bench-route-"));
  const budgetMs = 120_000 + 9 * (opt.warmup + opt.duration) * 1000;
  const stopAll = boundedRun(children, budgetMs, () => rmSync(dir, { recursive: true, force: true }));
  try {
    /** @type {Record<string, { pid: number | undefined, load: Awaited<ReturnType<typeof startFixedLoad>> }>} */
    const targets = {};
    /** @type {{ child: import("node:child_process").ChildProcess }[]} */
    const servers = [];
    /** @type {Route[]} */
    const routes = [];
    /** @type {Partial<Record<Framework, Costs>>} */
    const costs = {};
    for (const [framework, { alg, guards }] of FRAMEWORK_LIST) {
      const { keys, token } = material(alg);
      costs[framework] = await inProcessCosts(keys, token);
      const keysFile = join(dir, `${alg}.json`);
      writeFileSync(keysFile, JSON.stringify(keys));
      for (const guard of guards) {
        const key = `${framework}/${guard}`;
        const label = `${framework}, ${describe(framework, guard)} (${alg})`;
        routes.push({ key, framework, guard, label });
        const server = await startServerScript(
          ROUTE_SERVER,
          ["--framework", framework, "--guard", guard, "--keys", keysFile],
          children,
          { NODE_ENV: "production" },
        );
        servers.push(server);
        await checkServer(server.url, token, guard);
        targets[key] = {
          pid: server.child.pid,
          load: await startFixedLoad(
            label,
            {
              url: server.url,
              request: { method: "GET", path: "/api/me", headers: { authorization: `Bearer ${token}` } },
            },
            opt.connections,
            children,
          ),
        };
      }
    }
    const slice = opt.duration / opt.rounds;
    const measured = await measureAlternating(targets, { warmup: opt.warmup, rounds: opt.rounds, slice });
    for (const { load } of Object.values(targets)) load.child.disconnect();
    await Promise.all(servers.map((server) => stopServer(server.child)));
    clearProgress();
    report(measured, routes, slice, /** @type {Record<Framework, Costs>} */ (costs));
  } catch (error) {
    benchFailed(error);
  } finally {
    stopAll();
  }
}

/**
 * @param {Record<string, Measured>} measured
 * @param {Route[]} routes
 * @param {number} slice
 * @param {Record<Framework, Costs>} costs
 */
function report(measured, routes, slice, costs) {
  const of = (/** @type {string} */ key) => {
    const figures = measured[key];
    if (!figures) throw new Error(`${key}: not measured`);
    return figures;
  };
  const rps = (/** @type {string} */ key) => of(key).best.requestsPerSecond;
  const cpu = (/** @type {string} */ key) => of(key).best.serverCpuMicrosPerRequest ?? null;
  console.log(
    `\nGET /api/me over loopback, ${opt.connections} keep-alive connections; best of ${opt.rounds} alternating ${slice} s rounds after ${opt.warmup} s warm-up; errors over all rounds`,
  );
  const ratio = (/** @type {number} */ a, /** @type {number} */ b) => `${(a / b).toFixed(2)}×`;
  printTable(
    ["route", "req/s", "÷ unprotected", "p50 ms", "p99 ms", "server CPU µs/req", "errors"],
    routes.map(({ key, framework, label }) => {
      const perRequest = cpu(key);
      return [
        label,
        fmt(rps(key)),
        ratio(rps(key), rps(`${framework}/none`)),
        of(key).best.p50.toFixed(2),
        of(key).best.p99.toFixed(2),
        perRequest === null ? "-" : fmt(perRequest),
        describeErrors(of(key)),
      ];
    }),
  );
  /** @type {Partial<Record<Framework, Record<string, number | null>>>} */
  const ratios = {};
  /** @type {[Framework, { prolongToUnprotected: number, prolongToPeer: number, peerToUnprotected: number,
   *   cachedProlongToUnprotected: number, limitToUnprotected: number | null }][]} */
  const ratioRows = [];
  for (const [framework] of FRAMEWORK_LIST) {
    const unprotectedCpu = cpu(`${framework}/none`);
    const rate = (/** @type {string} */ guard) => rps(`${framework}/${guard}`);
    const r = {
      prolongToUnprotected: rate("prolong") / rate("none"),
      prolongToPeer: rate("prolong") / rate("peer"),
      peerToUnprotected: rate("peer") / rate("none"),
      cachedProlongToUnprotected: rate("prolong-cached") / rate("none"),
      // The most a guard could keep of the unprotected rate when the server's CPU is what
      // runs out: the route's own cost over that cost plus one signature check, nothing else.
      limitToUnprotected:
        unprotectedCpu === null ? null : unprotectedCpu / (unprotectedCpu + costs[framework].signatureMicros),
    };
    ratios[framework] = r;
    ratioRows.push([framework, r]);
  }
  console.log("");
  printTable(
    [
      "framework",
      "prolong ÷ unprotected (target ≥ 0.7×)",
      "prolong ÷ peer (target > 1×)",
      "peer ÷ unprotected",
      "limit: signature check alone",
      "prolong, cache on ÷ unprotected",
    ],
    ratioRows.map(([framework, r]) => [
      `${framework} (${FRAMEWORKS[framework].alg}, peer ${FRAMEWORKS[framework].peer})`,
      `${r.prolongToUnprotected.toFixed(2)}×`,
      `${r.prolongToPeer.toFixed(2)}×`,
      `${r.peerToUnprotected.toFixed(2)}×`,
      r.limitToUnprotected === null ? "-" : `${r.limitToUnprotected.toFixed(2)}×`,
      `${r.cachedProlongToUnprotected.toFixed(2)}×`,
    ]),
  );
  console.log("\nin-process CPU µs per call, in this process:");
  printTable(
    ["alg", "signature check alone (node:crypto)", "prolong verify"],
    FRAMEWORK_LIST.map(([framework, { alg }]) => [
      alg,
      costs[framework].signatureMicros.toFixed(1),
      costs[framework].prolongVerifyMicros.toFixed(1),
    ]),
  );
  console.log(
    "limit: the unprotected route's server CPU per answer ÷ (that + one signature check): what a guard doing nothing but the signature check would keep of the unprotected rate, where the server's CPU sets the pace.",
  );

  const rows = routes.map(({ key, framework, guard, label }) => ({
    framework,
    guard,
    alg: FRAMEWORKS[framework].alg,
    label,
    requestsPerSecond: rps(key),
    p50Ms: of(key).best.p50,
    p99Ms: of(key).best.p99,
    serverCpuMicrosPerRequest: cpu(key),
    totals: of(key).totals,
    rounds: of(key).rounds.map((r) => r.requestsPerSecond),
  }));
  writeBenchResults("protected-route", {
    options: opt,
    ratios,
    inProcessMicros: costs,
    rows,
    plots: FRAMEWORK_LIST.map(([framework, { alg }]) => ({
      id: `protected-route-${framework}`,
      title: `A protected ${framework === "fastify" ? "Fastify" : "Express"} route (${alg})`,
      unit: "req/s",
      note: `GET /api/me, ${opt.connections} connections, the same key and token for every guard; "cache on" remembers verified tokens; best of ${opt.rounds} × ${slice} s`,
      bars: rows
        .filter((row) => row.framework === framework)
        .map((row) => ({
          label: describe(framework, row.guard),
          value: Math.round(row.requestsPerSecond),
          group: library(framework, row.guard),
        })),
    })),
  });
}

await main();
process.exit();

// What one answer of the server's own bearer-protected routes costs: `GET /sessions` on
// `prolong serve` (SQLite), beside the same server's cheapest answer (`GET
// /.well-known/jwks.json`: no token, no store) and, measured in this process, the parts a
// bearer route cannot do without: one verify of a token already verified (the verifier's
// cache), one read of a session with its subject, one listing of a subject's sessions.
// Run after `npm run build`:
//   node bench/bearer-routes.mjs [--quick] [--duration 10] [--rounds 2] [--warmup 2] [--connections 8]
// Prints a table and writes bench/results/bearer-routes.json. Figures are ratios within
// one run on one machine; nothing here is asserted, and it never runs inside `npm test`.
//
// The caller's subject has two live sessions (as bench/lib/live-sessions.mjs shapes a
// sign-in population), so the listing answers two. Every request sends the same access
// token, as one client does during the token's life.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benchOptions } from "./lib/args.mjs";
import { boundedRun, describeErrors, measureAlternating, startFixedLoad } from "./lib/fixed-load.mjs";
import { benchFailed, clearProgress, fmt, printTable } from "./lib/report.mjs";
import { writeBenchResults } from "./lib/results.mjs";
import { startProlong, stopEverythingNow } from "./lib/servers.mjs";

const ISSUER = "https://auth.bench.test";
const ADMIN_TOKEN = "bench-admin-token-of-bearer-routes";

const opt = benchOptions({
  duration: { type: "number", default: 10, quick: 3, min: 0.5, max: 3600 },
  rounds: { type: "number", default: 2, quick: 1, min: 1, max: 100, integer: true },
  warmup: { type: "number", default: 2, quick: 1, min: 0, max: 600 },
  connections: { type: "number", default: 8, min: 1, max: 1024, integer: true },
});

/** @typedef {import("./lib/fixed-load.mjs").Measured} Measured */

/**
 * A session started over the admin API for `userId`: its access token and ids.
 * @param {string} url
 * @param {string} userId
 */
async function startSession(url, userId) {
  const response = await fetch(`${url}/admin/sessions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify({ user_id: userId, client_id: "native" }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = await response.json();
  if (response.status !== 200) throw new Error(`POST /admin/sessions answered ${response.status}`);
  const claims = JSON.parse(
    Buffer.from(String(body.access_token).split(".")[1] ?? "", "base64url").toString(),
  );
  return {
    token: /** @type {string} */ (body.access_token),
    sid: String(claims.sid),
    sub: String(claims.sub),
  };
}

/**
 * CPU µs per call of `fn`, best of 5 rounds of 400 calls, in this process.
 * @param {() => unknown} fn
 */
async function cost(fn) {
  for (let i = 0; i < 200; i++) await fn();
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 5; round++) {
    const before = process.cpuUsage();
    for (let i = 0; i < 400; i++) await fn();
    const used = process.cpuUsage(before);
    best = Math.min(best, (used.user + used.system) / 400);
  }
  return best;
}

/**
 * The parts of a bearer route, in this process: a verify, cached and not, through
 * @prolong/verify with the server's published keys; a session read and a listing on the
 * server's own database file (SQLite in WAL mode lets a second connection read).
 * @param {string} url
 * @param {string} dbPath
 * @param {{ token: string, sid: string, sub: string }} caller
 */
async function inProcessCosts(url, dbPath, caller) {
  const { createVerifier } = await import("@prolong/verify");
  const { openSqliteStore } = await import("@prolong/store-sqlite");
  const keys = (await (await fetch(`${url}/.well-known/jwks.json`)).json()).keys;
  const verifierWith = (/** @type {number} */ cacheSize) =>
    createVerifier({ issuer: ISSUER, audience: "prolong", keys, cacheSize });
  const cached = await verifierWith(1024);
  const uncached = await verifierWith(0);
  if (!(await cached.verify(caller.token)).ok || !(await uncached.verify(caller.token)).ok)
    throw new Error("the bench token does not verify in process");
  const store = openSqliteStore({ path: dbPath });
  try {
    const found = await store.sessions.readSession(caller.sid);
    if (found?.session.subjectId !== caller.sub) throw new Error("the caller's session cannot be read");
    const listed = await store.sessions.listSessions(caller.sub, Date.now());
    if (listed.length !== 2) throw new Error(`the caller's subject lists ${listed.length} sessions, not 2`);
    return {
      cachedVerifyMicros: await cost(() => cached.verify(caller.token)),
      verifyMicros: await cost(() => uncached.verify(caller.token)),
      sessionReadMicros: await cost(() => store.sessions.readSession(caller.sid)),
      sessionListMicros: await cost(() => store.sessions.listSessions(caller.sub, Date.now())),
    };
  } finally {
    await store.close();
  }
}

/** Routes measured, in the order they alternate. */
const ROUTES = /** @type {const} */ ([
  { key: "sessions", label: "GET /sessions (bearer)", path: "/sessions", bearer: true },
  {
    key: "floor",
    label: "GET /.well-known/jwks.json (no token, no store)",
    path: "/.well-known/jwks.json",
    bearer: false,
  },
]);

async function main() {
  /** @type {import("./lib/refresh-load.mjs").Children} */
  const children = new Set();
  const dir = mkdtempSync(join(tmpdir(), "prolong-bench-bearer-"));
  const budgetMs = 120_000 + 3 * (opt.warmup + opt.duration) * 1000;
  const stopAll = boundedRun(children, budgetMs, () => {
    stopEverythingNow();
    rmSync(dir, { recursive: true, force: true });
  });
  try {
    const dbPath = join(dir, "bearer.db");
    const server = await startProlong({
      store: `sqlite:${dbPath}`,
      issuer: ISSUER,
      env: { PROLONG_ADMIN_TOKEN: ADMIN_TOKEN, NODE_ENV: "production" },
    });
    await startSession(server.url, "bench-user");
    const caller = await startSession(server.url, "bench-user");
    const check = await fetch(`${server.url}/sessions`, {
      headers: { authorization: `Bearer ${caller.token}` },
    });
    const listed = await check.json();
    if (check.status !== 200 || listed.sessions?.length !== 2)
      throw new Error(`GET /sessions answered ${check.status} ${JSON.stringify(listed)}`);
    const parts = await inProcessCosts(server.url, dbPath, caller);
    /** @type {Record<string, { pid: number | undefined, load: Awaited<ReturnType<typeof startFixedLoad>> }>} */
    const targets = {};
    for (const route of ROUTES) {
      /** @type {Record<string, string>} */
      const headers = route.bearer ? { authorization: `Bearer ${caller.token}` } : {};
      targets[route.key] = {
        pid: server.child.pid,
        load: await startFixedLoad(
          route.label,
          { url: server.url, request: { method: "GET", path: route.path, headers } },
          opt.connections,
          children,
        ),
      };
    }
    const slice = opt.duration / opt.rounds;
    const measured = await measureAlternating(targets, { warmup: opt.warmup, rounds: opt.rounds, slice });
    for (const { load } of Object.values(targets)) load.child.disconnect();
    await server.stop();
    clearProgress();
    report(measured, parts, slice);
  } catch (error) {
    benchFailed(error);
  } finally {
    stopAll();
  }
}

/**
 * @param {Record<string, Measured>} measured
 * @param {Awaited<ReturnType<typeof inProcessCosts>>} parts
 * @param {number} slice
 */
function report(measured, parts, slice) {
  const of = (/** @type {string} */ key) => {
    const figures = measured[key];
    if (!figures) throw new Error(`${key}: not measured`);
    return figures;
  };
  // The least CPU per answer over the rounds: interference from elsewhere only adds to it.
  const cpu = (/** @type {string} */ key) => {
    const all = of(key).rounds.map((r) => r.serverCpuMicrosPerRequest ?? Number.NaN);
    return all.some(Number.isNaN) ? null : Math.min(...all);
  };
  console.log(
    `\nprolong serve on SQLite, ${opt.connections} keep-alive connections over loopback; best of ${opt.rounds} alternating ${slice} s rounds after ${opt.warmup} s warm-up`,
  );
  printTable(
    ["route", "req/s", "p50 ms", "p99 ms", "server CPU µs/answer", "errors"],
    ROUTES.map(({ key, label }) => {
      const perAnswer = cpu(key);
      return [
        label,
        fmt(of(key).best.requestsPerSecond),
        of(key).best.p50.toFixed(2),
        of(key).best.p99.toFixed(2),
        perAnswer === null ? "-" : perAnswer.toFixed(0),
        describeErrors(of(key)),
      ];
    }),
  );
  console.log("\nin this process, CPU µs per call:");
  printTable(
    ["verify, cached", "verify, not cached", "session read (readSession)", "listing (listSessions, 2)"],
    [
      [
        parts.cachedVerifyMicros.toFixed(1),
        parts.verifyMicros.toFixed(1),
        parts.sessionReadMicros.toFixed(1),
        parts.sessionListMicros.toFixed(1),
      ],
    ],
  );
  const sessions = cpu("sessions");
  const floor = cpu("floor");
  const essential = parts.cachedVerifyMicros + parts.sessionReadMicros;
  const ratios = {
    sessionsToEssential: sessions === null ? null : sessions / essential,
    routeWorkToEssential: sessions === null || floor === null ? null : (sessions - floor) / essential,
    routeWorkToEssentialWithListing:
      sessions === null || floor === null ? null : (sessions - floor) / (essential + parts.sessionListMicros),
  };
  const show = (/** @type {number | null} */ r) => (r === null ? "-" : `${r.toFixed(2)}×`);
  console.log("");
  printTable(
    [
      "GET /sessions ÷ (cached verify + session read)",
      "(GET /sessions − cheapest answer) ÷ (cached verify + session read)",
      "the same ÷ (cached verify + session read + listing)",
    ],
    [
      [
        show(ratios.sessionsToEssential),
        show(ratios.routeWorkToEssential),
        show(ratios.routeWorkToEssentialWithListing),
      ],
    ],
  );
  console.log(
    "cheapest answer: the same server's GET /.well-known/jwks.json, what HTTP parsing, Fastify's hooks and the socket write cost any answer.",
  );
  writeBenchResults("bearer-routes", {
    options: opt,
    inProcessMicros: parts,
    ratios,
    rows: ROUTES.map(({ key, label, path }) => ({
      route: path,
      label,
      requestsPerSecond: of(key).best.requestsPerSecond,
      p50Ms: of(key).best.p50,
      p99Ms: of(key).best.p99,
      serverCpuMicrosPerAnswer: cpu(key),
      totals: of(key).totals,
      rounds: of(key).rounds.map((r) => ({
        requestsPerSecond: r.requestsPerSecond,
        serverCpuMicrosPerRequest: r.serverCpuMicrosPerRequest ?? null,
      })),
    })),
    plots: [
      {
        id: "bearer-routes",
        title: "Server CPU per answer of a bearer route (SQLite)",
        unit: "µs",
        note: `GET /sessions beside the server's cheapest answer, ${opt.connections} connections; in process: a cached verify plus one session read`,
        bars: [
          { label: "GET /sessions", value: Math.round(sessions ?? 0), group: "server" },
          { label: "cheapest answer", value: Math.round(floor ?? 0), group: "server" },
          { label: "cached verify + session read", value: Math.round(essential), group: "in process" },
        ],
      },
    ],
  });
}

await main();
process.exit();

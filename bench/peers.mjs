// prolong's refresh endpoint beside better-auth's token endpoints, on the same machine, on
// SQLite, and beside oidc-provider's refresh_token grant, both on their in-memory stores,
// with the same load generator (autocannon), in one run; a bare node:http server
// answering "ok" gives the machine's ceiling with that generator.
// Run after `npm run build`:
//   node bench/peers.mjs [--quick] [--duration 10] [--rounds 2] [--warmup 2]
//                        [--connections 16] [--sessions 10000] [--users 1000]
//                        [--memory-sessions 10000]
// Prints a table and writes bench/results/peers.json. Figures are ratios within one run on
// one machine; nothing here is asserted, and it never runs inside `npm test`.
//
// Per request:
// - prolong, POST /oauth/token (grant_type=refresh_token, the native client): opens the
//   refresh token (HMAC-SHA-256), rotates it in one SQLite transaction (reads the session
//   and its subject, writes the successor's hash), signs an EdDSA access token and
//   answers both tokens. Every request is a real rotation: each load-generator connection
//   walks its own chains of refresh tokens across the seeded sessions.
// - better-auth, GET /api/auth/token (its jwt plugin): checks the session cookie's
//   signature, reads the session and its user from SQLite, reads the newest key of its
//   jwks table, decrypts that private key with the secret, imports it and signs an EdDSA
//   JWT. No rotation and no write: the session cookie stays the same.
// - better-auth, GET /api/auth/get-session: the same cookie check and reads; with the jwt
//   plugin installed (its default settings) it also signs a JWT into `set-auth-jwt`.
// - oidc-provider 9, POST /oauth/token (grant_type=refresh_token, a public native client;
//   peers/oidc-provider-server.mjs): finds the refresh token and its grant in its memory
//   adapter, consumes the token and saves its successor (rotateRefreshToken: true), signs
//   an EdDSA JWT access token for its one resource server (resource indicators). Its
//   memory adapter is one LRU map (grants, their token indexes, refresh tokens, consumed
//   ones too until pushed out), sized here for --memory-sessions grants (10,000; its
//   default of 1,000 entries holds about 300), and nothing else: no sessions table, no
//   audit, no rate-limit counters. prolong is measured on its memory store with as many
//   sessions beside it (peers/prolong-memory-server.mjs): like with like, no disk on
//   either side.
// A token whose answer is cut off at a slice's end is sent again at its connection's
// next visit: to oidc-provider (no grace window) always a reuse, which revokes the grant;
// to prolong a reuse once its grace window has passed. So a few chains (a multiple of
// the connections) break in every row that rotates; the errors column counts them.
//
// Processes: this script seeds and prints; each server and each load generator run in a
// process of their own. Everything binds to 127.0.0.1 and stops by itself.
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { benchOptions } from "./lib/args.mjs";
import {
  boundedRun,
  describeErrors,
  measureAlternating,
  startFixedLoad,
  startServerScript,
} from "./lib/fixed-load.mjs";
import { freePort, seedNativeSessions, spawnServer, startLoad, stopServer } from "./lib/refresh-load.mjs";
import { benchFailed, clearProgress, fmt, printTable } from "./lib/report.mjs";
import { writeBenchResults } from "./lib/results.mjs";

const BETTER_AUTH = fileURLToPath(new URL("./peers/better-auth-server.mjs", import.meta.url));
const BARE = fileURLToPath(new URL("./peers/bare-server.mjs", import.meta.url));
const OIDC_PROVIDER = fileURLToPath(new URL("./peers/oidc-provider-server.mjs", import.meta.url));
const PROLONG_MEMORY = fileURLToPath(new URL("./peers/prolong-memory-server.mjs", import.meta.url));

const opt = benchOptions({
  duration: { type: "number", default: 10, quick: 3, min: 0.5, max: 3600 },
  rounds: { type: "number", default: 2, quick: 1, min: 1, max: 100, integer: true },
  warmup: { type: "number", default: 2, quick: 1, min: 0, max: 600 },
  connections: { type: "number", default: 16, min: 1, max: 1024, integer: true },
  sessions: { type: "number", default: 10_000, quick: 2_000, min: 1, max: 2_000_000, integer: true },
  users: { type: "number", default: 1_000, quick: 200, min: 1, max: 1_000_000, integer: true },
  memorySessions: { type: "number", default: 10_000, quick: 2_000, min: 16, max: 1_000_000, integer: true },
});
const USERS = Math.min(opt.users, opt.sessions);
// High enough that the limiter never answers: this measures the refresh path.
const RATE_LIMITS = {
  login: { max: 1_000_000, windowSeconds: 60 },
  refresh: { max: 1_000_000, windowSeconds: 60 },
  refreshPerSession: { max: 1_000_000, windowSeconds: 60 },
};

const TARGETS = {
  bare: {
    label: "bare node:http",
    does: "reads the request, answers 200 ok (the machine's ceiling with this load generator)",
  },
  prolong: {
    label: "prolong POST /oauth/token",
    does: "opens the refresh token (HMAC), rotates it in one SQLite transaction, signs an EdDSA access token",
  },
  betterAuthToken: {
    label: "better-auth GET /api/auth/token",
    does: "checks the cookie, reads session + user, reads and decrypts its key, signs an EdDSA JWT; no rotation",
  },
  betterAuthSession: {
    label: "better-auth GET /api/auth/get-session",
    does: "checks the cookie, reads session + user; its jwt plugin also signs a JWT into set-auth-jwt",
  },
  prolongMemory: {
    label: "prolong POST /oauth/token, memory store",
    does: "the same refresh as above on @prolong/store-memory (no disk)",
  },
  oidcProvider: {
    label: "oidc-provider POST /oauth/token, memory adapter",
    does: "finds token + grant, consumes the token and saves its successor, signs an EdDSA JWT access token",
  },
};

/** @typedef {keyof typeof TARGETS} TargetKey */
/** @typedef {import("./lib/fixed-load.mjs").Measured} Measured */

/**
 * One better-auth user per connection, signed up over its own API: the session cookies.
 * @param {string} url
 * @param {number} count
 */
async function signUp(url, count) {
  /** @type {string[]} */
  const cookies = [];
  for (let i = 0; i < count; i++) {
    const response = await fetch(`${url}/api/auth/sign-up/email`, {
      method: "POST",
      // As a browser on the app's own origin sends it: better-auth refuses a sign-up without one.
      headers: { "content-type": "application/json", origin: url },
      body: JSON.stringify({
        email: `bench-${i}@example.test`,
        password: `bench password ${i}`,
        name: `b${i}`,
      }),
      signal: AbortSignal.timeout(10_000),
    });
    const cookie = /better-auth\.session_token=[^;]+/.exec(response.headers.get("set-cookie") ?? "")?.[0];
    if (response.status !== 200 || !cookie)
      throw new Error(`better-auth sign-up answered ${response.status}: ${await response.text()}`);
    cookies.push(cookie);
  }
  return cookies;
}

/**
 * One request before the load, so a misconfigured endpoint stops the bench with its answer.
 * @param {string} url
 * @param {Record<string, string>} headers
 * @param {string} what
 */
async function expectOk(url, headers, what) {
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
  const body = await response.text();
  if (response.status !== 200) throw new Error(`${what} answered ${response.status}: ${body}`);
  return body;
}

async function main() {
  /** @type {import("./lib/refresh-load.mjs").Children} */
  const children = new Set();
  const dir = mkdtempSync(join(tmpdir(), "prolong-bench-peers-"));
  const budgetMs =
    120_000 +
    6 * (opt.warmup + opt.duration * opt.rounds) * 1000 +
    (opt.sessions + 2 * opt.memorySessions) * 2;
  const stopAll = boundedRun(children, budgetMs, () => rmSync(dir, { recursive: true, force: true }));
  try {
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    const store = join(dir, "prolong.db");
    const tokens = await seedNativeSessions(store, issuer, USERS, opt.sessions);
    clearProgress();
    console.log(`seeded ${fmt(USERS)} prolong users and ${fmt(opt.sessions)} native sessions`);
    const configFile = join(dir, "prolong.json");
    writeFileSync(configFile, JSON.stringify({ rateLimits: RATE_LIMITS }));
    const prolong = await spawnServer({ dir, port, issuer, store }, configFile, children);

    const betterAuthPort = await freePort();
    const betterAuth = await startServerScript(
      BETTER_AUTH,
      ["--port", String(betterAuthPort), "--db", join(dir, "better-auth.db")],
      children,
      { BETTER_AUTH_SECRET: randomBytes(32).toString("base64url"), NODE_ENV: "production" },
    );
    const cookies = await signUp(betterAuth.url, opt.connections);
    console.log(`signed up ${cookies.length} better-auth users, one session cookie per connection`);
    const cookie = /** @type {string} */ (cookies[0]);
    /** @type {{ token: string }} */
    const jwt = JSON.parse(
      await expectOk(`${betterAuth.url}/api/auth/token`, { cookie }, "better-auth /token"),
    );
    /** @type {string} */
    const alg = JSON.parse(Buffer.from(jwt.token.split(".")[0] ?? "", "base64url").toString()).alg;
    await expectOk(`${betterAuth.url}/api/auth/get-session`, { cookie }, "better-auth /get-session");

    // Both memory servers seed before they listen: a few seconds per 10 k here, with room.
    const seedingMs = 60_000 + opt.memorySessions * 2;
    const memoryTokens = join(dir, "prolong-memory-tokens.json");
    const prolongMemory = await startServerScript(
      PROLONG_MEMORY,
      [
        "--port",
        String(await freePort()),
        "--sessions",
        String(opt.memorySessions),
        "--tokens",
        memoryTokens,
      ],
      children,
      {},
      seedingMs,
    );
    const oidcTokens = join(dir, "oidc-provider-tokens.json");
    const oidcProvider = await startServerScript(
      OIDC_PROVIDER,
      ["--port", String(await freePort()), "--sessions", String(opt.memorySessions), "--tokens", oidcTokens],
      children,
      { NODE_ENV: "production" },
      seedingMs,
    );
    console.log(
      `${opt.memorySessions} sessions on prolong's memory store, ${opt.memorySessions} grants in oidc-provider's memory adapter`,
    );
    /** @param {string} file */
    const tokensIn = (file) => /** @type {string[]} */ (JSON.parse(readFileSync(file, "utf8")));

    const bare = await startServerScript(BARE, [], children);
    const perCookie = cookies.map((cookie) => ({ cookie }));
    const C = opt.connections;
    const targets = {
      bare: {
        pid: bare.child.pid,
        load: await startFixedLoad(
          TARGETS.bare.label,
          {
            url: bare.url,
            request: {
              method: "POST",
              path: "/oauth/token",
              headers: { "content-type": "application/x-www-form-urlencoded" },
              body: `grant_type=refresh_token&client_id=native&refresh_token=${tokens[0]}`,
            },
          },
          C,
          children,
        ),
      },
      prolong: {
        pid: prolong.child.pid,
        load: await startLoad(TARGETS.prolong.label, { url: prolong.url, tokens, chain: true }, C, children),
      },
      betterAuthToken: {
        pid: betterAuth.child.pid,
        load: await startFixedLoad(
          TARGETS.betterAuthToken.label,
          {
            url: betterAuth.url,
            request: { method: "GET", path: "/api/auth/token" },
            connectionHeaders: perCookie,
          },
          C,
          children,
        ),
      },
      prolongMemory: {
        pid: prolongMemory.child.pid,
        load: await startLoad(
          TARGETS.prolongMemory.label,
          { url: prolongMemory.url, tokens: tokensIn(memoryTokens), chain: true },
          C,
          children,
        ),
      },
      oidcProvider: {
        pid: oidcProvider.child.pid,
        load: await startLoad(
          TARGETS.oidcProvider.label,
          { url: oidcProvider.url, tokens: tokensIn(oidcTokens), chain: true },
          C,
          children,
        ),
      },
      betterAuthSession: {
        pid: betterAuth.child.pid,
        load: await startFixedLoad(
          TARGETS.betterAuthSession.label,
          {
            url: betterAuth.url,
            request: { method: "GET", path: "/api/auth/get-session" },
            connectionHeaders: perCookie,
          },
          C,
          children,
        ),
      },
    };
    const slice = opt.duration / opt.rounds;
    const measured = await measureAlternating(targets, { warmup: opt.warmup, rounds: opt.rounds, slice });
    for (const { load } of Object.values(targets)) load.child.disconnect();
    await Promise.all(
      [prolong, betterAuth, bare, prolongMemory, oidcProvider].map((server) => stopServer(server.child)),
    );
    clearProgress();
    report(measured, { slice, alg, cookies: cookies.length });
  } catch (error) {
    benchFailed(error);
  } finally {
    stopAll();
  }
}

/**
 * @param {Record<TargetKey, Measured>} measured
 * @param {{ slice: number, alg: string, cookies: number }} run
 */
function report(measured, run) {
  const rps = (/** @type {TargetKey} */ key) => measured[key].best.requestsPerSecond;
  const cpu = (/** @type {TargetKey} */ key) => measured[key].best.serverCpuMicrosPerRequest ?? null;
  const [prolongCpu, betterAuthCpu] = [cpu("prolong"), cpu("betterAuthToken")];
  const ratios = {
    prolongToBetterAuthToken: rps("prolong") / rps("betterAuthToken"),
    prolongToBetterAuthSession: rps("prolong") / rps("betterAuthSession"),
    prolongToBare: rps("prolong") / rps("bare"),
    betterAuthTokenToBare: rps("betterAuthToken") / rps("bare"),
    // Where each server's CPU sets the pace, throughputs stand in the inverse ratio of what
    // one answer costs the server: the figure the req/s ratio tends to with a core apiece.
    cpuPerAnswerBetterAuthTokenToProlong: prolongCpu && betterAuthCpu ? betterAuthCpu / prolongCpu : null,
    prolongMemoryToOidcProvider: rps("prolongMemory") / rps("oidcProvider"),
    cpuPerAnswerOidcProviderToProlongMemory:
      cpu("prolongMemory") && cpu("oidcProvider")
        ? /** @type {number} */ (cpu("oidcProvider")) / /** @type {number} */ (cpu("prolongMemory"))
        : null,
  };
  /** @type {[TargetKey, { label: string, does: string }][]} */
  const targets = /** @type {any} */ (Object.entries(TARGETS));
  console.log(
    `\nover loopback, ${opt.connections} keep-alive connections each; best of ${opt.rounds} alternating ${run.slice} s rounds after ${opt.warmup} s warm-up; errors over all rounds`,
  );
  printTable(
    ["target", "req/s", "p50 ms", "p99 ms", "server CPU µs/req", "errors"],
    targets.map(([key, { label }]) => {
      const perRequest = cpu(key);
      return [
        label,
        fmt(rps(key)),
        measured[key].best.p50.toFixed(2),
        measured[key].best.p99.toFixed(2),
        perRequest === null ? "-" : fmt(perRequest),
        describeErrors(measured[key]),
      ];
    }),
  );
  console.log("\nper request:");
  for (const { label, does } of Object.values(TARGETS)) console.log(`  ${label}: ${does}`);
  console.log(`\nbetter-auth's JWT alg: ${run.alg}; prolong's: EdDSA`);
  printTable(
    ["ratio", "value"],
    [
      [
        "prolong refresh / better-auth /token (target ≥ 10×)",
        `${ratios.prolongToBetterAuthToken.toFixed(2)}×`,
      ],
      ["prolong refresh / better-auth /get-session", `${ratios.prolongToBetterAuthSession.toFixed(2)}×`],
      ["prolong refresh / bare node:http", `${ratios.prolongToBare.toFixed(2)}×`],
      ["better-auth /token / bare node:http", `${ratios.betterAuthTokenToBare.toFixed(2)}×`],
      [
        "prolong refresh (memory) / oidc-provider refresh (memory)",
        `${ratios.prolongMemoryToOidcProvider.toFixed(2)}×`,
      ],
      [
        "server CPU per answer: oidc-provider ÷ prolong (memory)",
        ratios.cpuPerAnswerOidcProviderToProlongMemory === null
          ? "-"
          : `${ratios.cpuPerAnswerOidcProviderToProlongMemory.toFixed(2)}×`,
      ],
      [
        "server CPU per answer: better-auth /token ÷ prolong refresh",
        ratios.cpuPerAnswerBetterAuthTokenToProlong === null
          ? "-"
          : `${ratios.cpuPerAnswerBetterAuthTokenToProlong.toFixed(2)}×`,
      ],
    ],
  );
  for (const key of /** @type {const} */ (["prolong", "prolongMemory", "oidcProvider"]))
    if (measured[key].totals.non200 + measured[key].totals.connectionErrors > 0)
      console.log(
        `warning: some ${TARGETS[key].label} refreshes failed, so its row measures more than the refresh path`,
      );

  const rows = targets.map(([key, { label, does }]) => ({
    target: key,
    label,
    does,
    requestsPerSecond: rps(key),
    p50Ms: measured[key].best.p50,
    p99Ms: measured[key].best.p99,
    serverCpuMicrosPerRequest: cpu(key),
    totals: measured[key].totals,
    rounds: measured[key].rounds.map((r) => r.requestsPerSecond),
  }));
  /** @param {TargetKey} key */
  const groupOf = (key) =>
    key === "bare"
      ? "reference"
      : key.startsWith("prolong")
        ? "prolong"
        : key === "oidcProvider"
          ? "oidc-provider"
          : "better-auth";
  const setup = `${opt.connections} connections, autocannon in its own process, SQLite (better-auth, prolong) or memory (oidc-provider, prolong), ${opt.rounds} × ${run.slice} s rounds (best kept)`;
  writeBenchResults("peers", {
    options: { ...opt, betterAuthAlg: run.alg, betterAuthSessions: run.cookies },
    ratios,
    rows,
    plots: [
      {
        id: "peers-throughput",
        title: "Issuing an access token: prolong refresh vs better-auth and oidc-provider",
        unit: "req/s",
        // The bare server's tens of thousands would flatten the bars that matter: in the note.
        note: `${setup}; bare node:http answered ${fmt(rps("bare"))} req/s in the same run`,
        bars: targets
          .filter(([key]) => key !== "bare")
          .map(([key, { label }]) => ({
            label,
            value: Math.round(rps(key)),
            group: groupOf(key),
          })),
      },
      {
        id: "peers-cpu",
        title: "Server CPU per answer: prolong refresh vs better-auth and oidc-provider",
        unit: "µs/req",
        note: "each server's own user + system CPU time (from /proc) per answer; lower is better",
        // The reference last, so each series keeps the colour it has in the plot above.
        bars: [...targets]
          .sort(([a], [b]) => Number(a === "bare") - Number(b === "bare"))
          .flatMap(([key, { label }]) => {
            const perRequest = cpu(key);
            return perRequest === null ? [] : [{ label, value: Math.round(perRequest), group: groupOf(key) }];
          }),
      },
    ],
  });
}

await main();
process.exit();

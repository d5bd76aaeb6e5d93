// How long a revoked session's access token is still accepted by a resource server:
// from the RFC 7009 revoke call (`POST /oauth/revoke` with the refresh token) returning
// to the moment a verifier of @prolong/verify, subscribed to an instance's revocation
// feed (docs/protocol.md, "Revocation feed"), refuses that token as revoked.
// Run after `npm run build`:
//   node bench/revocation-latency.mjs [--quick] [--revocations 1000] [--gap 50]
//                                     [--stores sqlite,postgres,redis]
// --quick: 100 revocations per setup. --gap: mean milliseconds between two revocations.
// Prints a table and writes bench/results/revocation-latency.json. Nothing is asserted,
// and it never runs inside `npm test`.
//
// Setups: for each store (SQLite: processes on one file; PostgreSQL and Redis: real
// servers started as the e2e tests start theirs, see bench/lib/database-servers.mjs), one
// instance (revoke and subscribe at the same `prolong serve`) and three instances on one
// store (revoke at the first, the verifier subscribed to the third). Each setup gets a
// fresh store.
//
// One revocation: a native session is started at the first instance over the admin API
// (`POST /admin/sessions`), its access token is verified once (accepted), its refresh
// token is revoked at the first instance; the clock starts when that call has returned.
// A watcher checks every pending token every millisecond (`feed.isRevoked(claims)`, then
// `verifier.verify(token)` must answer `revoked`), so the figure is exact to about 1 ms.
// Revocations start at random intervals (uniform, 0 to twice --gap), several may await
// their refusal at once: a fixed rhythm could fall in step with the instances' 250 ms
// changelog polls and show one phase of them only. Each waits at most 10 s. An instance
// reads the changelog when its store wakes it (SQLite: only for its own writes;
// PostgreSQL: LISTEN/NOTIFY; Redis: XREAD BLOCK) and every 250 ms besides.
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { benchOptions } from "./lib/args.mjs";
import { startPostgres, startRedis } from "./lib/database-servers.mjs";
import { benchFailed, clearProgress, fmt, printTable, progress, writeResults } from "./lib/report.mjs";
import { percentile, runProlong, startProlong, stopEverythingNow } from "./lib/servers.mjs";

/** @typedef {import("@prolong/verify").Verifier} Verifier */
/** @typedef {import("@prolong/verify").RevocationFeed} RevocationFeed */
/** @typedef {import("@prolong/verify").VerifyResult} VerifyResult */
/** @typedef {import("./lib/servers.mjs").ProlongServer} ProlongServer */
/** @typedef {Parameters<RevocationFeed["isRevoked"]>[0]} Claims */
/**
 * What became of one revocation: refused after `latency` ms, still accepted after
 * WAIT_MS (`missed`), or a failure on the way.
 * @typedef {{ latency: number, revokeCall: number } | { missed: true, revokeCall: number }
 *   | { failed: string }} Outcome
 */

const STORE_KINDS = /** @type {const} */ (["sqlite", "postgres", "redis"]);
const options = benchOptions({
  revocations: { type: "number", default: 1000, quick: 100, integer: true, min: 1, max: 1_000_000 },
  gap: { type: "number", default: 50, min: 0, max: 60_000 },
  stores: { type: "list", default: STORE_KINDS, choices: STORE_KINDS },
});
const REVOCATIONS = options.revocations;
const GAP_MS = options.gap;
const STORES = options.stores;
/** Revocations started but not yet refused, at most. */
const MAX_PENDING = 32;
/** Longest wait for one refusal; a token still accepted then is counted as missed. */
const WAIT_MS = 10_000;
const WARMUP = 10;
const ISSUER = "https://auth.bench.test";
const ADMIN_TOKEN = "bench-admin-token-of-revocation-latency";
const RESOURCE_SECRET = "bench-resource-secret-of-revocation-latency";

const sleep = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms));

const dir = mkdtempSync(join(tmpdir(), "prolong-bench-revocation-"));
// Bounded whatever happens: a stuck server or feed never keeps the bench alive.
const budgetMs = 300_000 + STORES.length * 2 * REVOCATIONS * (GAP_MS + 300);
setTimeout(() => {
  clearProgress();
  console.error(`\nbench: still running after ${Math.round(budgetMs / 1000)} s; stopping`);
  stopEverythingNow();
  rmSync(dir, { recursive: true, force: true });
  process.exit(1);
}, budgetMs).unref();
process.once("SIGINT", () => {
  clearProgress();
  console.error("\nbench: interrupted; stopping every process it started");
  stopEverythingNow();
  rmSync(dir, { recursive: true, force: true });
  process.exit(130);
});

const { createRevocationFeed, createVerifier } = await import("@prolong/verify");

/**
 * A fresh store of `kind` for one setup, on `server` (PostgreSQL or Redis) when there is one.
 * @param {(typeof STORE_KINDS)[number]} kind
 * @param {{ url: string } | null} server
 * @param {string} name
 * @param {string} dir
 */
async function freshStore(kind, server, name, dir) {
  if (kind === "sqlite") return `sqlite:${join(dir, `${name}.db`)}`;
  if (server === null) throw new Error(`${kind}: no database server`);
  if (kind === "redis") return `${server.url}?prefix=${name}:`;
  const spec = `${server.url}?schema=${name}`;
  const migrated = await runProlong(["migrate", "--store", spec]);
  if (migrated.code !== 0) throw new Error(`prolong migrate failed: ${migrated.stderr}`);
  return spec;
}

/** @type {(token: string) => Claims} */
const claimsOf = (token) => JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString());

/**
 * Checks every pending token each millisecond: first `feed.isRevoked` (a map lookup),
 * then the verifier itself, which must refuse it as revoked.
 * @param {RevocationFeed} feed
 * @param {Verifier} verifier
 */
function createWatcher(feed, verifier) {
  /** @typedef {{ at: number, result: VerifyResult } | null} Seen */
  /** @type {Set<{ token: string, claims: Claims, resolve: (seen: Seen) => void, deadline: number }>} */
  const pending = new Set();
  /** @type {ReturnType<typeof setTimeout> | null} */
  let timer = null;
  const tick = () => {
    timer = null;
    const now = performance.now();
    for (const entry of pending) {
      if (feed.isRevoked(entry.claims)) {
        pending.delete(entry);
        verifier.verify(entry.token).then((result) => entry.resolve({ at: now, result }));
      } else if (now >= entry.deadline) {
        pending.delete(entry);
        entry.resolve(null);
      }
    }
    if (pending.size > 0) timer = setTimeout(tick, 1);
  };
  return {
    /**
     * Resolves with when the token was seen refused, or null after WAIT_MS.
     * @param {string} token
     * @param {Claims} claims
     * @param {number} from
     * @returns {Promise<Seen>}
     */
    until(token, claims, from) {
      return new Promise((resolve) => {
        pending.add({ token, claims, resolve, deadline: from + WAIT_MS });
        if (timer === null) tick();
      });
    },
  };
}

/**
 * @param {string} url
 * @param {unknown} body
 * @param {Record<string, string>} [headers]
 * @returns {Promise<{ status: number, body: any }>}
 */
async function postJson(url, body, headers = {}) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, body: await response.json().catch(() => ({})) };
}

/**
 * One revocation at `a`, watched through the verifier fed by `c`.
 * @param {ProlongServer} a
 * @param {Verifier} verifier
 * @param {ReturnType<typeof createWatcher>} watcher
 * @param {number} i
 * @returns {Promise<Outcome>}
 */
async function revokeOnce(a, verifier, watcher, i) {
  const started = await postJson(
    `${a.url}/admin/sessions`,
    { user_id: `bench-user-${i % 100}`, client_id: "native" },
    { authorization: `Bearer ${ADMIN_TOKEN}` },
  );
  if (started.status !== 200) return { failed: `session start answered ${started.status}` };
  const { access_token: token, refresh_token: refreshToken } = started.body;
  const before = await verifier.verify(token);
  if (!before.ok) return { failed: `accepted no token before revocation: ${before.code}` };
  const claims = claimsOf(token);
  const asked = performance.now();
  const revoked = await fetch(`${a.url}/oauth/revoke`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token: refreshToken, token_type_hint: "refresh_token", client_id: "native" }),
    signal: AbortSignal.timeout(10_000),
  });
  await revoked.arrayBuffer();
  const returned = performance.now();
  if (revoked.status !== 200) return { failed: `revoke answered ${revoked.status}` };
  const seen = await watcher.until(token, claims, returned);
  if (seen === null) return { missed: true, revokeCall: returned - asked };
  if (seen.result.ok || seen.result.code !== "revoked")
    return {
      failed: `the feed said revoked, the verifier answered ${seen.result.ok ? "ok" : seen.result.code}`,
    };
  return { latency: seen.at - returned, revokeCall: returned - asked };
}

/**
 * Every revocation of one setup, started at random intervals, at most MAX_PENDING at once.
 * @param {string} label
 * @param {ProlongServer} a
 * @param {ProlongServer} c
 */
async function measure(label, a, c) {
  const feed = createRevocationFeed({
    url: `${c.url}/revocations/feed`,
    credentials: { secret: RESOURCE_SECRET },
    minBackoffMs: 50,
    maxBackoffMs: 1000,
  });
  try {
    await feed.waitUntilLive(10_000);
    const verifier = await createVerifier({
      issuer: ISSUER,
      audience: "prolong",
      jwksUri: `${c.url}/.well-known/jwks.json`,
      revocations: feed,
      cacheSize: 1024,
    });
    const watcher = createWatcher(feed, verifier);
    // Connections, JIT and the key set warm up on revocations that are not counted.
    for (let i = 0; i < WARMUP; i++) {
      const warm = await revokeOnce(a, verifier, watcher, i);
      if ("failed" in warm) throw new Error(`${label}: ${warm.failed}`);
    }
    /** @type {Outcome[]} */
    const outcomes = [];
    /** @type {Set<Promise<void>>} */
    const inFlight = new Set();
    const began = performance.now();
    for (let i = 0; i < REVOCATIONS; i++) {
      while (inFlight.size >= MAX_PENDING) await Promise.race(inFlight);
      const one = revokeOnce(a, verifier, watcher, WARMUP + i)
        .catch((/** @type {Error} */ error) => ({ failed: error.message }))
        .then((outcome) => {
          outcomes.push(outcome);
          inFlight.delete(one);
          if (outcomes.length % 25 === 0 || outcomes.length === REVOCATIONS)
            progress(`${label}: ${outcomes.length}/${REVOCATIONS} revocations`, outcomes.length % 250 === 0);
        });
      inFlight.add(one);
      await sleep(Math.random() * 2 * GAP_MS);
    }
    await Promise.all(inFlight);
    const seconds = (performance.now() - began) / 1000;
    const latencies = outcomes.flatMap((o) => ("latency" in o ? [o.latency] : [])).sort((x, y) => x - y);
    const calls = outcomes.flatMap((o) => ("revokeCall" in o ? [o.revokeCall] : [])).sort((x, y) => x - y);
    /** @type {Record<string, number>} */
    const failures = {};
    for (const o of outcomes) if ("failed" in o) failures[o.failed] = (failures[o.failed] ?? 0) + 1;
    return {
      revocations: REVOCATIONS,
      refused: latencies.length,
      missed: outcomes.filter((o) => "missed" in o).length,
      failures,
      seconds,
      p50: percentile(latencies, 50),
      p90: percentile(latencies, 90),
      p99: percentile(latencies, 99),
      max: latencies.at(-1) ?? Number.NaN,
      mean: latencies.reduce((sum, x) => sum + x, 0) / latencies.length,
      revokeCallP50: percentile(calls, 50),
      revokeCallP99: percentile(calls, 99),
      feedConnections: feed.connections,
    };
  } finally {
    await feed.close();
  }
}

const NAMES = { sqlite: "SQLite", postgres: "PostgreSQL", redis: "Redis" };
/** @type {({ store: string, instances: number, label: string } & Awaited<ReturnType<typeof measure>>)[]} */
const rows = [];
const env = { PROLONG_ADMIN_TOKEN: ADMIN_TOKEN, PROLONG_RESOURCE_SECRET: RESOURCE_SECRET };
try {
  for (const kind of STORES) {
    progress(`${NAMES[kind]}: starting the database server`, true);
    const server = kind === "postgres" ? await startPostgres() : kind === "redis" ? await startRedis() : null;
    try {
      for (const instances of [1, 3]) {
        const label = `${NAMES[kind]}, ${instances === 1 ? "1 instance" : `${instances} instances`}`;
        progress(`${label}: starting`, true);
        const store = await freshStore(kind, server, `bench_${instances}`, dir);
        // One after the other: the first one up makes the keys the others then load.
        /** @type {ProlongServer[]} */
        const servers = [];
        try {
          for (let i = 0; i < instances; i++)
            servers.push(await startProlong({ store, issuer: ISSUER, env }));
          const [first, last] = [servers[0], servers.at(-1)];
          if (!first || !last) throw new Error(`${label}: no instance started`);
          const figures = await measure(label, first, last);
          rows.push({ store: kind, instances, label, ...figures });
        } finally {
          await Promise.all(servers.map((s) => s.stop()));
        }
      }
    } finally {
      await server?.close();
    }
  }
  clearProgress();

  const ms = (/** @type {number} */ n) => (Number.isNaN(n) ? "-" : n.toFixed(1));
  console.log(
    `\nrevoke call returned → verifier refuses the access token; ${fmt(REVOCATIONS)} revocations per setup, ~${GAP_MS} ms apart on average; revoke at the first instance, feed from the last`,
  );
  printTable(
    ["setup", "p50 ms", "p90 ms", "p99 ms", "max ms", "missed (>10 s)", "failed", "revoke call p50 ms"],
    rows.map((r) => [
      r.label,
      ms(r.p50),
      ms(r.p90),
      ms(r.p99),
      ms(r.max),
      String(r.missed),
      String(Object.values(r.failures).reduce((sum, n) => sum + n, 0)),
      ms(r.revokeCallP50),
    ]),
  );
  for (const r of rows) {
    if (Object.keys(r.failures).length > 0) console.log(`${r.label}: failures ${JSON.stringify(r.failures)}`);
    if (r.feedConnections > 1)
      console.log(`${r.label}: the feed reconnected (${r.feedConnections} connections)`);
  }
  console.log(
    `target: p99 ≤ 2000 ms. An instance reads the store's revocation changelog when the store wakes it (SQLite: its own writes only; PostgreSQL: LISTEN/NOTIFY; Redis: XREAD BLOCK) and every 250 ms (docs/protocol.md). 0.0 ms: the verifier refused before the revoke call's answer was read. node ${process.version}, ${availableParallelism()} cores shared by the database, the instances and this process.`,
  );

  writeResults("revocation-latency", {
    bench: "revocation-latency",
    ranAt: new Date().toISOString(),
    machine: { cpus: availableParallelism(), cpu: cpus()[0]?.model, node: process.version },
    options: { revocations: REVOCATIONS, meanGapMs: GAP_MS, maxPending: MAX_PENDING, waitMs: WAIT_MS },
    rows,
    plots: [
      {
        id: "revocation-latency",
        title: "Revoke call returned → a subscribed verifier refuses the access token",
        unit: "ms",
        note: `p50 and p99 over ${fmt(REVOCATIONS)} revocations per setup; revoke at the first instance, the verifier fed by the last; target p99 ≤ 2000 ms`,
        bars: rows.flatMap((r) => [
          { label: r.label, value: Number(r.p50.toFixed(1)), group: "p50" },
          { label: r.label, value: Number(r.p99.toFixed(1)), group: "p99" },
        ]),
      },
    ],
  });
} catch (error) {
  benchFailed(error);
} finally {
  stopEverythingNow();
  rmSync(dir, { recursive: true, force: true });
}
process.exit();

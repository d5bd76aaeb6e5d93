// Native refreshes per second over loopback HTTP through one real `prolong serve` process
// per store (SQLite, PostgreSQL, Redis), beside the bare node:http reference (the load
// generator's ceiling here) and beside that store's own rotate ceiling, measured in the
// same run by bench/lib/rotate-ceiling.mjs as bench/stores.mjs measures it.
//
// Run after `npm run build`:
//   node bench/refresh-stores.mjs [--stores sqlite,postgres,redis] [--sessions 10000]
//     [--duration 10] [--rounds 2] [--warmup 2] [--connections 16] [--count 10000]
//     [--max-seconds 5] [--quick]
// --sessions 1000000 runs it on a million live sessions. --count and --max-seconds bound
// each rotate-ceiling measurement. --quick: 2 s slices, one round, 1 s warm-up, 2 000
// rotations. Needs `initdb`, `pg_ctl`, `postgres` (15 or later) and `redis-server` on PATH
// for those stores. Prints tables and writes bench/results/refresh-stores.json. Figures
// are ratios within one run on one machine; nothing here is asserted, and it never runs
// inside `npm test`.
//
// Per store: a fresh store (`prolong migrate` first), filled through its own operations (store-targets.mjs)
// with native sessions whose refresh tokens the bench mints with the store's own
// refresh-token secret; the store's rotate ceiling on those sessions, which moves their
// tokens on as the engine would; then `prolong serve` on the store, and slices of load
// alternating between it and the bare server. Durability as recommended for production:
// SQLite as the store sets it, PostgreSQL synchronous_commit=on, Redis AOF
// appendfsync always. Processes: this script; `prolong serve`; the bare server; one
// load generator (autocannon) per target; the database servers.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { benchOptions } from "./lib/args.mjs";
import { cleanupOnExit } from "./lib/cleanup.mjs";
import { livePopulation, sessionIdOf, visitingOrder } from "./lib/live-sessions.mjs";
import {
  cpuSeconds,
  freePort,
  runProlong,
  spawnServer,
  startBareServer,
  startLoad,
  stopServer,
} from "./lib/refresh-load.mjs";
import { clearProgress, fmt, printTable, progress, writeResults } from "./lib/report.mjs";
import { measureRotations } from "./lib/rotate-ceiling.mjs";
import { createTarget, fillProgress, STORE_KINDS } from "./lib/store-targets.mjs";

/** @typedef {import("./lib/store-targets.mjs").StoreKind} StoreKind */
/** @typedef {import("./lib/store-targets.mjs").StoreTarget} StoreTarget */
/** @typedef {import("./lib/rotate-ceiling.mjs").PlannedRotation} PlannedRotation */
/** @typedef {import("./lib/rotate-ceiling.mjs").RotationFigures} RotationFigures */
/** @typedef {import("./lib/load-slices.mjs").RefreshFigures} RefreshFigures */
/** @typedef {import("@prolong/core").RefreshTokenCodec} RefreshTokenCodec */
/** @typedef {{ idleTimeout: number, absoluteLifetime: number | null, graceWindow: number }} Profile */
/** @typedef {ReturnType<typeof parseOptions>} Options */
/** @typedef {{ best: RefreshFigures, rounds: RefreshFigures[], failed: number }} Measured */
/** @typedef {Awaited<ReturnType<typeof benchStore>>} StoreResult */

/** @type {Record<StoreKind, string>} */
const LABELS = { sqlite: "SQLite", postgres: "PostgreSQL", redis: "Redis" };
const CLIENT = "native";
// High enough that the limiter never answers: this measures the refresh path.
const RATE_LIMITS = {
  login: { max: 1_000_000, windowSeconds: 60 },
  refresh: { max: 1_000_000, windowSeconds: 60 },
  refreshPerSession: { max: 1_000_000, windowSeconds: 60 },
};

function parseOptions() {
  return benchOptions({
    stores: { type: "list", default: STORE_KINDS, choices: STORE_KINDS },
    sessions: { type: "number", default: 10_000, integer: true, min: 1_000, max: 2_000_000 },
    duration: { type: "number", default: 10, quick: 2, min: 1, max: 300 },
    rounds: { type: "number", default: 2, quick: 1, integer: true, min: 1, max: 20 },
    warmup: { type: "number", default: 2, quick: 1, min: 0, max: 60 },
    connections: { type: "number", default: 16, integer: true, min: 1, max: 1024 },
    count: { type: "number", default: 10_000, quick: 2_000, integer: true, min: 100, max: 10_000_000 },
    maxSeconds: { type: "number", default: 5, quick: 2, min: 0.1, max: 600 },
  });
}

/**
 * Fills a fresh store of `kind` with native sessions and returns their refresh tokens:
 * minted with the store's refresh-token secret (claimed here first, as the server's
 * engine claims it at start and then finds this one), so the server accepts them.
 * @param {StoreTarget} target
 * @param {import("@prolong/core").Store} store
 * @param {number} sessions
 * @param {Profile} profile
 */
async function seed(target, store, sessions, profile) {
  const { RefreshTokenCodec, cryptoRandom } = await import("@prolong/core");
  const secret = await store.keys.claimSecret("refresh-token-mac", randomBytes(32).toString("base64url"));
  const codec = RefreshTokenCodec.create(Buffer.from(secret, "base64url"));
  /** @type {string[]} */
  const tokens = new Array(sessions);
  /** @type {string[]} */
  const hashes = new Array(sessions);
  for (let i = 0; i < sessions; i++) {
    const token = codec.issue(sessionIdOf(i), cryptoRandom);
    tokens[i] = token.value;
    hashes[i] = token.hash;
  }
  const population = livePopulation(sessions, {
    now: Date.now(),
    clientId: CLIENT,
    profile,
    tokenAt: (i) => ({
      generation: 0,
      currentHash: /** @type {string} */ (hashes[i]),
      previousHash: null,
      rotatedAt: null,
    }),
  });
  await target.fill(population, fillProgress(`${LABELS[target.kind]}: filling`));
  const stored = await target.count();
  if (stored !== sessions)
    throw new Error(`${target.kind}: ${fmt(stored)} sessions stored, not ${fmt(sessions)}`);
  return { codec, tokens };
}

/**
 * The next `count` rotations of the seeded sessions, each as the engine would make it:
 * the presented token opened, its successor derived; once rotated, the session's token
 * becomes the successor, so the HTTP load that follows presents current tokens.
 * @param {number} count
 * @param {string[]} tokens
 * @param {RefreshTokenCodec} codec
 * @param {Profile} profile
 * @param {() => number} next
 */
function planRotations(count, tokens, codec, profile, next) {
  /** @type {PlannedRotation[]} */
  const plan = [];
  for (let k = 0; k < Math.min(count, tokens.length); k++) {
    const i = next();
    const presented = codec.open(tokens[i] ?? "");
    if (presented === null)
      throw new Error(`the refresh token of session ${i} does not open with the store's secret`);
    const successor = codec.next(presented);
    plan.push({
      request: {
        sessionId: presented.sessionId,
        clientId: CLIENT,
        generation: presented.generation,
        presentedHash: presented.hash,
        successorHash: successor.hash,
        now: 0,
        graceMs: profile.graceWindow * 1000,
        idleTimeoutMs: profile.idleTimeout * 1000,
      },
      done: () => {
        tokens[i] = successor.value;
      },
    });
  }
  return plan;
}

/**
 * One store: seed, its rotate ceiling, then `prolong serve` on it under load beside the bare server.
 * @param {StoreKind} kind
 * @param {{ dir: string, servers: import("./lib/store-targets.mjs").DatabaseServers, options: Options,
 *   children: import("./lib/refresh-load.mjs").Children, cleanup: import("./lib/cleanup.mjs").Cleanup,
 *   bareLoad: { run: (phase: string, seconds: number) => Promise<RefreshFigures> },
 *   bareChild: import("node:child_process").ChildProcess }} context
 */
async function benchStore(kind, context) {
  const { dir, servers, options, children, cleanup, bareLoad, bareChild } = context;
  const { nativeProfile } = await import("@prolong/core");
  const label = LABELS[kind];
  const target = await createTarget(kind, { dir, servers, name: "http" });
  cleanup.add(() => target.drop());
  progress(`${label}: prolong migrate --store ${kind === "sqlite" ? "sqlite:…" : target.spec}`, true);
  const migrated = await runProlong(["migrate", "--store", target.spec]);

  const store = await target.open();
  const durability = target.durabilities[0];
  if (!durability) throw new Error(`${label}: no durability setting to run it with`);
  /** @type {{ codec: RefreshTokenCodec, tokens: string[] }} */
  let seeded;
  /** @type {Record<1 | 16, RotationFigures>} */
  let ceiling;
  try {
    seeded = await seed(target, store, options.sessions, nativeProfile);
    // After filling, which may run with durability off; the ceiling and the server run with it.
    await durability.apply();
    const next = visitingOrder(options.sessions);
    const plan = (/** @type {number} */ count) =>
      planRotations(count, seeded.tokens, seeded.codec, nativeProfile, next);
    await measureRotations(store, plan(Math.min(1000, options.count)), { concurrency: 16, maxSeconds: 2 });
    /** @type {Partial<Record<1 | 16, RotationFigures>>} */
    const measured = {};
    for (const concurrency of /** @type {const} */ ([1, 16])) {
      const figures = await measureRotations(store, plan(options.count), {
        concurrency,
        maxSeconds: options.maxSeconds,
        databaseCpuSeconds: target.databaseCpuSeconds,
        onProgress: (done, total) =>
          progress(`${label}: store rotate ceiling, ${concurrency} in flight, ${fmt(done)}/${fmt(total)}`),
      });
      progress(
        `${label}: store rotate ceiling, ${concurrency} in flight: ${fmt(figures.rotationsPerSecond)} rotations/s`,
        true,
      );
      measured[concurrency] = figures;
    }
    ceiling = {
      1: /** @type {RotationFigures} */ (measured[1]),
      16: /** @type {RotationFigures} */ (measured[16]),
    };
  } finally {
    await store.close();
  }

  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const configFile = join(dir, `${kind}.json`);
  writeFileSync(configFile, JSON.stringify({ rateLimits: RATE_LIMITS }));
  progress(`${label}: starting prolong serve --store ${kind === "sqlite" ? "sqlite:…" : target.spec}`, true);
  const server = await spawnServer({ dir, port, issuer, storeSpec: target.spec }, configFile, children);
  const load = await startLoad(
    `prolong on ${label}`,
    { url: server.url, tokens: seeded.tokens, chain: true },
    options.connections,
    children,
  );
  /** @type {[Target, Target]} */
  const targets = [
    { name: "bare", load: bareLoad, pid: bareChild.pid, database: () => null, rounds: [] },
    { name: "prolong", load, pid: server.child.pid, database: target.databaseCpuSeconds, rounds: [] },
  ];
  /** @typedef {{ name: string, load: { run: (phase: string, seconds: number) => Promise<RefreshFigures> },
   *   pid: number | undefined, database: () => number | null, rounds: RefreshFigures[] }} Target */
  try {
    if (options.warmup > 0) for (const t of targets) await t.load.run(`${label} warm-up`, options.warmup);
    const slice = options.duration / options.rounds;
    // Alternating slices, so a burst of load from elsewhere on the machine hits both alike.
    for (let round = 1; round <= options.rounds; round++)
      for (const t of targets) {
        const before = { server: cpuSeconds(t.pid), database: t.database() };
        const figures = await t.load.run(`${label}, round ${round}/${options.rounds}`, slice);
        const after = { server: cpuSeconds(t.pid), database: t.database() };
        const perRequest = (/** @type {"server" | "database"} */ key) => {
          const [from, to] = [before[key], after[key]];
          return from === null || to === null || figures.requests === 0
            ? null
            : ((to - from) * 1e6) / figures.requests;
        };
        figures.serverCpuMicrosPerRequest = perRequest("server");
        figures.databaseCpuMicrosPerRequest = perRequest("database");
        t.rounds.push(figures);
      }
  } finally {
    load.child.disconnect();
    await stopServer(server.child);
  }
  await target.drop();
  // Interference only slows a round down: each target keeps its best.
  const best = (/** @type {RefreshFigures[]} */ rounds) =>
    rounds.reduce((a, b) => (b.requestsPerSecond > a.requestsPerSecond ? b : a));
  const failed = (/** @type {RefreshFigures[]} */ rounds) =>
    rounds.reduce((sum, r) => sum + r.non200 + r.connectionErrors + r.timeouts + r.brokenChains, 0);
  const [bare, prolong] = targets;
  return {
    store: kind,
    label,
    durability: durability.label,
    sessions: options.sessions,
    migrate: migrated,
    prolong: { best: best(prolong.rounds), rounds: prolong.rounds, failed: failed(prolong.rounds) },
    bare: { best: best(bare.rounds), rounds: bare.rounds, failed: failed(bare.rounds) },
    ceiling,
  };
}

async function main() {
  const options = parseOptions();
  const perStore =
    60 + options.sessions / 1_000 + 2 * options.maxSeconds + 2 * (options.warmup + options.duration);
  const cleanup = cleanupOnExit((120 + options.stores.length * perStore * 3) * 1000);
  /** @type {import("./lib/refresh-load.mjs").Children} */
  const children = new Set();
  const dir = mkdtempSync(join(tmpdir(), "prolong-bench-refresh-stores-"));
  cleanup.add(() => rmSync(dir, { recursive: true, force: true }));
  try {
    // Imported only when needed: it registers a TypeScript loader for testing/*.ts.
    const servers = options.stores.some((kind) => kind !== "sqlite")
      ? await (await import("./lib/database-servers.mjs")).startDatabaseServers(
          options.stores,
          cleanup,
          progress,
        )
      : {};
    // Added after the database servers, so it runs before they stop.
    cleanup.add(() => {
      for (const child of children)
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    });
    const bare = await startBareServer(children);
    // Bodies as long as a real refresh's (a 91-character token); the bare server reads and ignores them.
    const dummyTokens = Array.from({ length: options.connections }, () =>
      randomBytes(68).toString("base64url"),
    );
    const bareLoad = await startLoad(
      "bare node:http",
      { url: bare.url, tokens: dummyTokens, chain: false },
      options.connections,
      children,
    );
    const results = [];
    for (const kind of options.stores)
      results.push(
        await benchStore(kind, { dir, servers, options, children, cleanup, bareLoad, bareChild: bare.child }),
      );
    bareLoad.child.disconnect();
    bare.child.disconnect();
    clearProgress();
    report(results, options);
  } catch (error) {
    clearProgress();
    if (!cleanup.interrupted) console.error(`bench: ${/** @type {Error} */ (error).stack ?? error}`);
    process.exitCode = 1;
  } finally {
    await cleanup.run();
  }
  process.exit();
}

/**
 * @param {StoreResult[]} results
 * @param {Options} options
 */
function report(results, options) {
  const ms = (/** @type {number} */ n) => n.toFixed(2);
  const us = (/** @type {number | null | undefined} */ n) =>
    n === null || n === undefined ? "-" : n < 100 ? n.toFixed(1) : fmt(n);
  const perCore = (/** @type {RefreshFigures} */ r) => {
    const server = r.serverCpuMicrosPerRequest;
    return server === null || server === undefined
      ? null
      : 1e6 / (server + (r.databaseCpuMicrosPerRequest ?? 0));
  };
  const slice = options.duration / options.rounds;
  console.log(
    `\nPOST /oauth/token (native refresh) over loopback, ${fmt(options.sessions)} live sessions, ${options.connections} keep-alive connections; best of ${options.rounds} ${slice} s slices alternating with the bare server, after ${options.warmup} s warm-up`,
  );
  const lines = [];
  for (const r of results) {
    const p = r.prolong.best;
    const cores = perCore(p);
    lines.push([
      `prolong on ${r.label} (${r.durability})`,
      fmt(p.requestsPerSecond),
      ms(p.p50),
      ms(p.p99),
      us(p.serverCpuMicrosPerRequest),
      us(p.databaseCpuMicrosPerRequest),
      cores === null ? "-" : fmt(cores),
      fmt(r.prolong.failed),
    ]);
    const b = r.bare.best;
    lines.push([
      "  bare node:http, beside it",
      fmt(b.requestsPerSecond),
      ms(b.p50),
      ms(b.p99),
      us(b.serverCpuMicrosPerRequest),
      "-",
      "-",
      fmt(r.bare.failed),
    ]);
  }
  printTable(
    [
      "target",
      "req/s",
      "p50 ms",
      "p99 ms",
      "server CPU µs/req",
      "db CPU µs/req",
      "req per CPU-second",
      "failed",
    ],
    lines,
  );
  console.log(
    "CPU from /proc: the server process (prolong, or the bare one) and the database server (PostgreSQL's postmaster and its processes, redis-server; SQLite runs inside prolong). req per CPU-second = 1e6 / (server + db CPU µs): refreshes one core serves, the load generator's CPU not counted.",
  );

  console.log(
    `\nthe same, beside each store's own rotate ceiling (store.sessions.rotate from this process, no HTTP), this run`,
  );
  const ratio = (/** @type {number} */ a, /** @type {number} */ b) => `${(a / b).toFixed(2)}x`;
  printTable(
    [
      "store",
      "prolong req/s",
      "bare req/s",
      "prolong/bare",
      "ceiling, 1 in flight",
      "ceiling, 16 in flight",
      "prolong/ceiling(16)",
    ],
    results.map((r) => [
      `${r.label} (${r.durability})`,
      fmt(r.prolong.best.requestsPerSecond),
      fmt(r.bare.best.requestsPerSecond),
      ratio(r.prolong.best.requestsPerSecond, r.bare.best.requestsPerSecond),
      `${fmt(r.ceiling[1].rotationsPerSecond)} rot/s, p99 ${us(r.ceiling[1].p99Micros)} µs`,
      `${fmt(r.ceiling[16].rotationsPerSecond)} rot/s, p99 ${us(r.ceiling[16].p99Micros)} µs`,
      ratio(r.prolong.best.requestsPerSecond, r.ceiling[16].rotationsPerSecond),
    ]),
  );
  if (results.some((r) => r.prolong.failed > 0))
    console.log("warning: some refreshes failed, so a prolong row measures more than the refresh path");
  console.log(`node ${process.version}, ${cpus().length} CPUs`);

  const rows = results.map((r) => ({
    store: r.store,
    label: r.label,
    durability: r.durability,
    sessions: r.sessions,
    prolong: r.prolong,
    bare: r.bare,
    ceiling: r.ceiling,
    prolongPerCpuSecond: perCore(r.prolong.best),
    ratios: {
      prolongToBare: r.prolong.best.requestsPerSecond / r.bare.best.requestsPerSecond,
      prolongToCeiling16: r.prolong.best.requestsPerSecond / r.ceiling[16].rotationsPerSecond,
      prolongToCeiling1: r.prolong.best.requestsPerSecond / r.ceiling[1].rotationsPerSecond,
    },
    migrate: r.migrate,
  }));
  const sessionsLabel = `${fmt(options.sessions)} live sessions`;
  writeResults("refresh-stores", {
    bench: "refresh-stores",
    ranAt: new Date().toISOString(),
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version },
    options,
    rows,
    plots: [
      {
        id: "refresh-stores-throughput",
        title: `Refreshes per second over HTTP by store, ${sessionsLabel}`,
        unit: "req/s",
        note: `one prolong serve process, ${options.connections} connections, beside bare node:http and the store's own rotate ceiling (16 in flight)`,
        bars: results.flatMap((r) => [
          { label: r.label, value: Math.round(r.prolong.best.requestsPerSecond), group: "prolong serve" },
          { label: r.label, value: Math.round(r.bare.best.requestsPerSecond), group: "bare node:http" },
          {
            label: r.label,
            value: Math.round(r.ceiling[16].rotationsPerSecond),
            group: "store rotate ceiling",
          },
        ]),
      },
      {
        id: "refresh-stores-p99",
        title: `Refresh p99 latency over HTTP by store, ${sessionsLabel}`,
        unit: "ms",
        note: `${options.connections} connections; the store ceiling's p99 at 16 in flight beside it`,
        bars: results.flatMap((r) => [
          { label: r.label, value: r.prolong.best.p99, group: "prolong serve" },
          { label: r.label, value: r.ceiling[16].p99Micros / 1000, group: "store rotate ceiling" },
        ]),
      },
      {
        id: "refresh-stores-per-core",
        title: `Refreshes per CPU-second by store, ${sessionsLabel}`,
        unit: "req/s",
        note: "1e6 / (prolong's CPU µs + the database server's CPU µs) per refresh; the load generator not counted",
        bars: rows.flatMap((r) =>
          r.prolongPerCpuSecond === null
            ? []
            : [{ label: r.label, value: Math.round(r.prolongPerCpuSecond) }],
        ),
      },
    ],
  });
}

await main();

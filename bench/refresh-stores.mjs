// Native refreshes per second over loopback HTTP through one real `prolong serve` process
// per store (memory, SQLite, PostgreSQL, Redis), beside the bare node:http reference (the
// load generator's ceiling here) and beside that store's own rotate ceiling, measured in
// the same run by bench/lib/rotate-ceiling.mjs as bench/stores.mjs measures it; and what
// the live sessions take: the store's bytes per session, the time to fill it, and the
// server's RSS before and after the refresh load (and its peak).
//
// Run after `npm run build`:
//   node bench/refresh-stores.mjs [--stores memory,sqlite,postgres,redis] [--sessions 10000]
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
// load generator (autocannon) per target; the database servers. A refresh is one store
// call, `rotate` (the per-session grant budget is checked and spent inside it); the
// ceiling's rotations carry no budget, so they do slightly less than the server's.
//
// The memory store cannot be filled from another process: peers/prolong-memory-server.mjs
// starts its sessions through the engine in the server itself (one account each) and
// reports its V8 heap growth; it has no ceiling here, the store living inside the server.
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { benchOptions } from "./lib/args.mjs";
import { cleanupOnExit } from "./lib/cleanup.mjs";
import { startServerScript } from "./lib/fixed-load.mjs";
import { livePopulation, sessionIdOf, visitingOrder } from "./lib/live-sessions.mjs";
import {
  cpuSeconds,
  freePort,
  residentBytes,
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
/** @typedef {Awaited<ReturnType<typeof benchStore>> | Awaited<ReturnType<typeof benchMemoryStore>>} StoreResult */

/** @type {Record<StoreKind | "memory", string>} */
const LABELS = { memory: "memory", sqlite: "SQLite", postgres: "PostgreSQL", redis: "Redis" };
const KINDS = /** @type {const} */ (["memory", ...STORE_KINDS]);
const PROLONG_MEMORY = fileURLToPath(new URL("./peers/prolong-memory-server.mjs", import.meta.url));
const CLIENT = "native";
// High enough that the limiter never answers: this measures the refresh path.
const RATE_LIMITS = {
  login: { max: 1_000_000, windowSeconds: 60 },
  refresh: { max: 1_000_000, windowSeconds: 60 },
  refreshPerSession: { max: 1_000_000, windowSeconds: 60 },
};

function parseOptions() {
  return benchOptions({
    stores: { type: "list", default: KINDS, choices: KINDS },
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
  const { dir, servers, options, children, cleanup } = context;
  const { nativeProfile } = await import("@prolong/core");
  const label = LABELS[kind];
  const target = await createTarget(kind, { dir, servers, name: "http" });
  cleanup.add(() => target.drop());
  progress(`${label}: prolong migrate --store ${kind === "sqlite" ? "sqlite:…" : target.spec}`, true);
  const migrated = await runProlong(["migrate", "--store", target.spec]);
  // Again through the target, idempotent: Redis's empty memory is recorded for the footprint.
  await target.migrate();

  const store = await target.open();
  const durability = target.durabilities[0];
  if (!durability) throw new Error(`${label}: no durability setting to run it with`);
  /** @type {{ codec: RefreshTokenCodec, tokens: string[] }} */
  let seeded;
  /** @type {Record<1 | 16, RotationFigures>} */
  let ceiling;
  let fillSeconds = 0;
  /** @type {import("./lib/store-targets.mjs").Footprint} */
  let footprint;
  try {
    const fillStarted = performance.now();
    seeded = await seed(target, store, options.sessions, nativeProfile);
    fillSeconds = (performance.now() - fillStarted) / 1000;
    footprint = await target.footprint();
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
  const measured = await measureServer(label, server, seeded.tokens, target.databaseCpuSeconds, context);
  await target.drop();
  return {
    store: kind,
    label,
    durability: durability.label,
    sessions: options.sessions,
    migrate: migrated,
    ...measured,
    /** @type {Record<1 | 16, RotationFigures> | null} */
    ceiling,
    memory: {
      fillSeconds,
      bytesPerSession: footprint.total / options.sessions,
      footprint,
      server: measured.serverMemory,
    },
  };
}

/**
 * The memory store: no other process can fill it, so peers/prolong-memory-server.mjs
 * starts the sessions in the server's own process, through the engine, and says what
 * that took; its growth in V8 heap (after a full collection) is the sessions' footprint.
 * No rotate ceiling: the store lives inside the server.
 * @param {Parameters<typeof benchStore>[1]} context
 */
async function benchMemoryStore(context) {
  const { dir, options, children } = context;
  const label = LABELS.memory;
  const tokensFile = join(dir, "memory-tokens.json");
  const statsFile = join(dir, "memory-stats.json");
  progress(`${label}: starting the server and ${fmt(options.sessions)} sessions in it`, true);
  const server = await startServerScript(
    PROLONG_MEMORY,
    [
      ...["--port", String(await freePort()), "--sessions", String(options.sessions)],
      ...["--tokens", tokensFile, "--stats", statsFile],
    ],
    children,
    { NODE_OPTIONS: "--expose-gc" },
    // Seeding runs first: about 3 s per 10 k sessions here, with room for a busy machine.
    60_000 + options.sessions * 2,
  );
  /** @type {{ seedSeconds: number, before: { rss: number, heapUsed: number }, after: { rss: number, heapUsed: number } }} */
  const stats = JSON.parse(readFileSync(statsFile, "utf8"));
  /** @type {string[]} */
  const tokens = JSON.parse(readFileSync(tokensFile, "utf8"));
  const measured = await measureServer(label, server, tokens, () => null, context);
  const heap = stats.after.heapUsed - stats.before.heapUsed;
  return {
    store: /** @type {const} */ ("memory"),
    label,
    durability: "none (lost on exit)",
    sessions: options.sessions,
    migrate: "",
    ...measured,
    /** @type {Record<1 | 16, RotationFigures> | null} */
    ceiling: null,
    memory: {
      // Through the engine (an account and a session each), not the store alone.
      fillSeconds: stats.seedSeconds,
      bytesPerSession: heap / options.sessions,
      footprint: { total: heap, sessions: null, subjects: null },
      server: measured.serverMemory,
    },
  };
}

/**
 * A server under load from its own load generator, in slices alternating with the bare
 * server's, each keeping its best; the server's resident memory before the load, after
 * it, and at its peak (VmHWM).
 * @param {string} label
 * @param {{ url: string, child: import("node:child_process").ChildProcess }} server
 * @param {string[]} tokens
 * @param {() => number | null} databaseCpu
 * @param {Parameters<typeof benchStore>[1]} context
 */
async function measureServer(label, server, tokens, databaseCpu, context) {
  const { options, children, bareLoad, bareChild } = context;
  const load = await startLoad(
    `prolong on ${label}`,
    { url: server.url, tokens, chain: true },
    options.connections,
    children,
  );
  /** @typedef {{ name: string, load: { run: (phase: string, seconds: number) => Promise<RefreshFigures> },
   *   pid: number | undefined, database: () => number | null, rounds: RefreshFigures[] }} Target */
  /** @type {[Target, Target]} */
  const targets = [
    { name: "bare", load: bareLoad, pid: bareChild.pid, database: () => null, rounds: [] },
    { name: "prolong", load, pid: server.child.pid, database: databaseCpu, rounds: [] },
  ];
  const idle = residentBytes(server.child.pid);
  let loaded = idle;
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
        if (t.name === "prolong") loaded = residentBytes(t.pid);
      }
  } finally {
    load.child.disconnect();
    await stopServer(server.child);
  }
  // Interference only slows a round down: each target keeps its best.
  const best = (/** @type {RefreshFigures[]} */ rounds) =>
    rounds.reduce((a, b) => (b.requestsPerSecond > a.requestsPerSecond ? b : a));
  const failed = (/** @type {RefreshFigures[]} */ rounds) =>
    rounds.reduce((sum, r) => sum + r.non200 + r.connectionErrors + r.timeouts + r.brokenChains, 0);
  const [bare, prolong] = targets;
  return {
    prolong: { best: best(prolong.rounds), rounds: prolong.rounds, failed: failed(prolong.rounds) },
    bare: { best: best(bare.rounds), rounds: bare.rounds, failed: failed(bare.rounds) },
    serverMemory: {
      rssBeforeLoad: idle?.rss ?? null,
      rssAfterLoad: loaded?.rss ?? null,
      peakRss: loaded?.peak ?? null,
    },
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
    const servers = options.stores.some((kind) => kind === "postgres" || kind === "redis")
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
    const context = { dir, servers, options, children, cleanup, bareLoad, bareChild: bare.child };
    for (const kind of options.stores)
      results.push(
        kind === "memory"
          ? await benchMemoryStore(context)
          : await benchStore(/** @type {StoreKind} */ (kind), context),
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
      r.ceiling ? `${fmt(r.ceiling[1].rotationsPerSecond)} rot/s, p99 ${us(r.ceiling[1].p99Micros)} µs` : "-",
      r.ceiling
        ? `${fmt(r.ceiling[16].rotationsPerSecond)} rot/s, p99 ${us(r.ceiling[16].p99Micros)} µs`
        : "-",
      r.ceiling ? ratio(r.prolong.best.requestsPerSecond, r.ceiling[16].rotationsPerSecond) : "-",
    ]),
  );

  const mb = (/** @type {number | null} */ n) => (n === null ? "-" : `${(n / 2 ** 20).toFixed(1)} MB`);
  console.log(
    `
memory, ${fmt(options.sessions)} live sessions: what the sessions take in the store (memory: the server's V8 heap growth while seeding, after a full collection; SQLite: the file; PostgreSQL: pg_total_relation_size of sessions and subjects; Redis: used_memory growth), and the server's RSS (VmRSS, VmHWM) before and after the refresh load`,
  );
  printTable(
    [
      "store",
      "fill s per 10 k",
      "stored bytes",
      "bytes per session",
      "server RSS before load",
      "after load",
      "peak",
      "refresh p99 ms",
    ],
    results.map((r) => [
      r.label,
      ((r.memory.fillSeconds * 10_000) / r.sessions).toFixed(2),
      fmt(r.memory.footprint.total),
      fmt(r.memory.bytesPerSession),
      mb(r.memory.server.rssBeforeLoad),
      mb(r.memory.server.rssAfterLoad),
      mb(r.memory.server.peakRss),
      ms(r.prolong.best.p99),
    ]),
  );
  console.log(
    "fill: through the store's own operations (SQLite, PostgreSQL, Redis, per-commit flush off while filling) or the engine (memory: an account and a session each)",
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
    memory: r.memory,
    prolongPerCpuSecond: perCore(r.prolong.best),
    ratios: {
      prolongToBare: r.prolong.best.requestsPerSecond / r.bare.best.requestsPerSecond,
      prolongToCeiling16: r.ceiling
        ? r.prolong.best.requestsPerSecond / r.ceiling[16].rotationsPerSecond
        : null,
      prolongToCeiling1: r.ceiling
        ? r.prolong.best.requestsPerSecond / r.ceiling[1].rotationsPerSecond
        : null,
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
          ...(r.ceiling
            ? [
                {
                  label: r.label,
                  value: Math.round(r.ceiling[16].rotationsPerSecond),
                  group: "store rotate ceiling",
                },
              ]
            : []),
        ]),
      },
      {
        id: "refresh-stores-p99",
        title: `Refresh p99 latency over HTTP by store, ${sessionsLabel}`,
        unit: "ms",
        note: `${options.connections} connections; the store ceiling's p99 at 16 in flight beside it`,
        bars: results.flatMap((r) => [
          { label: r.label, value: r.prolong.best.p99, group: "prolong serve" },
          ...(r.ceiling
            ? [{ label: r.label, value: r.ceiling[16].p99Micros / 1000, group: "store rotate ceiling" }]
            : []),
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

// Each store's own refresh ceiling and footprint, as the number of live sessions grows:
// SQLite (a file), PostgreSQL and Redis (real servers on loopback, started as the tests
// start them, then made durable). For each store and size the bench fills a fresh store
// with live sessions through its own operations (bench/lib/store-targets.mjs), checks
// the count and rotates a sample through the real store, field by field, then measures
// `sessions.rotate` at 1 and at 16 in flight under each durability setting, and the
// bytes each live session takes.
//
// Run after `npm run build`:
//   node bench/stores.mjs [--sizes 10000,100000,1000000] [--stores sqlite,postgres,redis]
//                         [--count 10000] [--max-seconds 5] [--quick]
// --count: rotations per measurement (at most one per session), each stopping after
// --max-seconds if not done. --quick: 10 000 sessions only, 2 000 rotations, 2 s.
// Needs `initdb`, `pg_ctl`, `postgres` (15 or later) and `redis-server` on PATH for those stores.
// Prints tables and writes bench/results/stores.json. Figures are ratios within one run
// on one machine; nothing here is asserted, and it never runs inside `npm test`.
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { benchOptions } from "./lib/args.mjs";
import { cleanupOnExit } from "./lib/cleanup.mjs";
import { livePopulation, sessionIdOf, subjectIdOf, visitingOrder } from "./lib/live-sessions.mjs";
import { clearProgress, fmt, printTable, progress, writeResults } from "./lib/report.mjs";
import { measureRotations } from "./lib/rotate-ceiling.mjs";
import { createTarget, fillProgress, STORE_KINDS } from "./lib/store-targets.mjs";

/** @typedef {import("./lib/store-targets.mjs").StoreKind} StoreKind */
/** @typedef {import("./lib/store-targets.mjs").Population} Population */
/** @typedef {import("./lib/rotate-ceiling.mjs").PlannedRotation} PlannedRotation */
/** @typedef {import("./lib/rotate-ceiling.mjs").RotationFigures} RotationFigures */
/** @typedef {ReturnType<typeof parseOptions>} Options */
/** @typedef {RotationFigures & { store: StoreKind, label: string, durability: string, sessions: number }} Row */
/**
 * @typedef {object} FootprintRow
 * @property {StoreKind} store
 * @property {number} sessions
 * @property {number} subjects
 * @property {number} fillSeconds
 * @property {number} bytesPerSession
 * @property {number | null} sessionTableBytesPerSession
 * @property {number | null} subjectTableBytesPerSession
 * @property {number} [checkedSessions]
 */

/** @type {Record<StoreKind, string>} */
const LABELS = { sqlite: "SQLite", postgres: "PostgreSQL", redis: "Redis" };
/** The web profile's lifetimes (core's policy.ts): 7 days idle, 30 days absolute, 30 s grace. */
const PROFILE = { idleTimeout: 7 * 86_400, absoluteLifetime: 30 * 86_400, graceWindow: 30 };
const CLIENT = "web";
const CONCURRENCIES = [1, 16];
const SAMPLE = 200;

/** The stand-in for a refresh-token hash (SHA-256, base64url, 43 characters) of session i at generation g. */
const hashOf = (/** @type {number} */ i, /** @type {number} */ g) =>
  createHash("sha256").update(`token ${i}.${g}`).digest("base64url");

/** The command line as options; anything malformed is an error naming it. */
function parseOptions() {
  return benchOptions({
    sizes: {
      type: "numbers",
      default: [10_000, 100_000, 1_000_000],
      quick: [10_000],
      integer: true,
      min: 1000,
      max: 10_000_000,
    },
    stores: { type: "list", default: STORE_KINDS, choices: STORE_KINDS },
    count: { type: "number", default: 10_000, quick: 2_000, integer: true, min: 100, max: 10_000_000 },
    maxSeconds: { type: "number", default: 5, quick: 2, min: 0.01, max: 600 },
  });
}

/**
 * Rotates `SAMPLE` filled sessions, spread over the whole population, through the real
 * store and compares what it answers, every field, with the record that was filled and
 * then rotated: the sessions as created read back unchanged.
 * @param {import("@prolong/core").Store} store
 * @param {Population} population
 * @param {Uint32Array} generations
 */
async function checkSample(store, population, generations) {
  const n = Math.min(SAMPLE, population.sessions);
  for (let k = 0; k < n; k++) {
    const i = Math.floor((k * population.sessions) / n);
    const g = /** @type {number} */ (generations[i]);
    const now = Date.now();
    const outcome = await store.sessions.rotate({
      sessionId: sessionIdOf(i),
      clientId: CLIENT,
      generation: g,
      presentedHash: hashOf(i, g),
      successorHash: hashOf(i, g + 1),
      now,
      graceMs: PROFILE.graceWindow * 1000,
      idleTimeoutMs: PROFILE.idleTimeout * 1000,
    });
    const filled = population.sessionAt(i);
    const expected = {
      session: {
        ...filled,
        generation: g + 1,
        currentHash: hashOf(i, g + 1),
        previousHash: hashOf(i, g),
        rotatedAt: now,
        lastActiveAt: now,
        idleExpiresAt: Math.min(
          now + PROFILE.idleTimeout * 1000,
          filled.absoluteExpiresAt ?? Number.POSITIVE_INFINITY,
        ),
      },
      subject: {
        id: subjectIdOf(i % population.subjects),
        disabled: false,
        tokenVersion: 0,
        reauthRequiredAt: null,
        claims: {},
        createdAt: population.now,
        updatedAt: population.now,
      },
    };
    if (
      outcome.status !== "rotated" ||
      !isDeepStrictEqual({ session: outcome.session, subject: outcome.subject }, expected)
    )
      throw new Error(
        `filled session ${i} does not read back as filled:\n  got ${JSON.stringify(outcome)}\n  expected ${JSON.stringify(expected)}`,
      );
    generations[i] = g + 1;
  }
  return n;
}

/**
 * The next `count` rotations in visiting order, each session at most once.
 * @param {number} count
 * @param {Population} population
 * @param {Uint32Array} generations
 * @param {() => number} next
 */
function planRotations(count, population, generations, next) {
  /** @type {PlannedRotation[]} */
  const plan = [];
  for (let k = 0; k < Math.min(count, population.sessions); k++) {
    const i = next();
    const g = /** @type {number} */ (generations[i]);
    plan.push({
      request: {
        sessionId: sessionIdOf(i),
        clientId: CLIENT,
        generation: g,
        presentedHash: hashOf(i, g),
        successorHash: hashOf(i, g + 1),
        now: 0,
        graceMs: PROFILE.graceWindow * 1000,
        idleTimeoutMs: PROFILE.idleTimeout * 1000,
      },
      done: () => {
        generations[i] = g + 1;
      },
    });
  }
  return plan;
}

/**
 * Fills one store of `kind` with `size` sessions, checks it, and measures it under each durability.
 * @param {StoreKind} kind
 * @param {number} size
 * @param {{ dir: string, servers: import("./lib/store-targets.mjs").DatabaseServers, options: Options,
 *   cleanup: import("./lib/cleanup.mjs").Cleanup }} context
 */
async function benchStore(kind, size, { dir, servers, options, cleanup }) {
  const name = `${kind} ${fmt(size)}`;
  const target = await createTarget(kind, { dir, servers, name: `n${size}` });
  cleanup.add(() => target.drop());
  await target.migrate();
  const empty = await target.footprint();
  const now = Date.now();
  const population = livePopulation(size, {
    now,
    clientId: CLIENT,
    profile: PROFILE,
    // Rotated once, ten minutes ago: a session in use holds a current and a previous hash.
    tokenAt: (i) => ({
      generation: 1,
      currentHash: hashOf(i, 1),
      previousHash: hashOf(i, 0),
      rotatedAt: now - 600_000,
    }),
  });
  const fillStart = performance.now();
  await target.fill(population, fillProgress(`${name}: filling (${describeFill(kind)})`));
  const fillSeconds = (performance.now() - fillStart) / 1000;
  const full = await target.footprint();
  const stored = await target.count();
  if (stored !== size)
    throw new Error(`${name}: ${fmt(stored)} sessions stored after filling, not ${fmt(size)}`);
  const perSession = (/** @type {"sessions" | "subjects"} */ key) => {
    const [after, before] = [full[key], empty[key]];
    return after === null || before === null ? null : (after - before) / size;
  };
  /** @type {FootprintRow} */
  const footprint = {
    store: kind,
    sessions: size,
    subjects: population.subjects,
    fillSeconds,
    bytesPerSession: (full.total - empty.total) / size,
    sessionTableBytesPerSession: perSession("sessions"),
    subjectTableBytesPerSession: perSession("subjects"),
  };
  clearProgress();
  console.log(
    `${name}: filled in ${fillSeconds.toFixed(1)} s (${fmt(size / fillSeconds)} sessions/s), ${fmt(footprint.bytesPerSession)} bytes per live session`,
  );

  const store = await target.open();
  /** @type {Row[]} */
  const rows = [];
  try {
    const generations = new Uint32Array(size).fill(1);
    progress(`${name}: rotating ${SAMPLE} filled sessions through the store and comparing every field`, true);
    const checked = await checkSample(store, population, generations);
    const next = visitingOrder(size);
    for (const durability of target.durabilities) {
      await durability.apply();
      const label = `${LABELS[kind]}, ${durability.label}`;
      // Warm-up: connections opened, statements prepared, scripts loaded.
      await measureRotations(
        store,
        planRotations(Math.min(1000, options.count), population, generations, next),
        {
          concurrency: 16,
          maxSeconds: 2,
        },
      );
      for (const concurrency of CONCURRENCIES) {
        const plan = planRotations(options.count, population, generations, next);
        const measured = await measureRotations(store, plan, {
          concurrency,
          maxSeconds: options.maxSeconds,
          databaseCpuSeconds: target.databaseCpuSeconds,
          onProgress: (done, total) =>
            progress(
              `${name}: ${durability.label}, ${concurrency} in flight, ${fmt(done)}/${fmt(total)} rotations`,
            ),
        });
        progress(
          `${name}: ${durability.label}, ${concurrency} in flight: ${fmt(measured.rotationsPerSecond)} rotations/s`,
          true,
        );
        rows.push({ store: kind, label, durability: durability.label, sessions: size, ...measured });
      }
    }
    footprint.checkedSessions = checked;
  } finally {
    await store.close();
  }
  await target.drop();
  return { rows, footprint };
}

/** @param {StoreKind} kind */
function describeFill(kind) {
  if (kind === "sqlite") return "the store's ensureSubject and createSession";
  if (kind === "postgres")
    return "the store's ensureSubject and createSession, 40 in flight, synchronous_commit off, then VACUUM ANALYZE";
  return "the store's ensureSubject and createSession, 256 in flight, appendfsync no";
}

async function main() {
  const options = parseOptions();
  const cells = options.sizes.length * options.stores.length;
  const totalSessions = options.sizes.reduce((a, b) => a + b, 0) * options.stores.length;
  // A safety net only: generous for a slow fill, never endless.
  const cleanup = cleanupOnExit(
    300_000 + totalSessions * 1 + cells * 2 * (4 * options.maxSeconds + 30) * 1000,
  );
  const dir = mkdtempSync(join(tmpdir(), "prolong-bench-stores-"));
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
    /** @type {Row[]} */
    const rows = [];
    /** @type {FootprintRow[]} */
    const footprints = [];
    for (const size of options.sizes)
      for (const kind of options.stores) {
        const result = await benchStore(kind, size, { dir, servers, options, cleanup });
        rows.push(...result.rows);
        footprints.push(result.footprint);
      }
    clearProgress();
    report(rows, footprints, options);
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
 * @param {Row[]} rows
 * @param {FootprintRow[]} footprints
 * @param {Options} options
 */
function report(rows, footprints, options) {
  const us = (/** @type {number | null} */ n) => (n === null ? "-" : n < 100 ? n.toFixed(1) : fmt(n));
  console.log(
    `\nstore.sessions.rotate from one process, at most ${fmt(options.count)} rotations or ${options.maxSeconds} s per line; every answer "rotated". CPU: this process (the store's client; all of SQLite) and the database server, per rotation`,
  );
  printTable(
    ["store", "sessions", "in flight", "rotations/s", "p50 µs", "p99 µs", "client CPU µs", "db CPU µs"],
    rows.map((r) => [
      r.label,
      fmt(r.sessions),
      String(r.concurrency),
      fmt(r.rotationsPerSecond),
      us(r.p50Micros),
      us(r.p99Micros),
      us(r.clientCpuMicrosPerRotation),
      us(r.databaseCpuMicrosPerRotation),
    ]),
  );
  console.log(
    "\nbytes per live session as filled: SQLite file growth (tables by dbstat), PostgreSQL pg_total_relation_size, Redis INFO used_memory growth; subjects' share included (2 sessions a subject)",
  );
  const bytes = (/** @type {number | null} */ n) => (n === null ? "-" : fmt(n));
  printTable(
    ["store", "sessions", "fill s", "sessions/s filled", "bytes/session", "sessions table", "subjects table"],
    footprints.map((f) => [
      LABELS[f.store],
      fmt(f.sessions),
      f.fillSeconds.toFixed(1),
      fmt(f.sessions / f.fillSeconds),
      bytes(f.bytesPerSession),
      bytes(f.sessionTableBytesPerSession),
      bytes(f.subjectTableBytesPerSession),
    ]),
  );
  console.log(
    "durability: SQLite as the store sets it (WAL, synchronous=NORMAL: no fsync per commit); PostgreSQL fsync on, synchronous_commit on (a commit waits for its WAL fsync) or off; Redis AOF fsynced at every write (always) or once a second (everysec). PostgreSQL's pool: the store's default 10 connections.",
  );

  const sizeLabel = (/** @type {number} */ n) =>
    n >= 1_000_000 ? `${n / 1_000_000} M` : n >= 1000 ? `${n / 1000} k` : String(n);
  const largest = Math.max(...options.sizes);
  const bars = (/** @type {(r: Row) => number} */ value) =>
    rows.map((r) => ({
      label: `${r.label}, ${sizeLabel(r.sessions)}`,
      value: value(r),
      group: `${r.concurrency} in flight`,
    }));
  writeResults("stores", {
    bench: "stores",
    ranAt: new Date().toISOString(),
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version },
    options,
    rows,
    footprints,
    plots: [
      {
        id: "stores-rotations",
        title: "Store rotate ceiling by store and live sessions",
        unit: "rotations/s",
        note: "store.sessions.rotate called from one process, no HTTP; 1 and 16 rotations in flight",
        bars: bars((r) => Math.round(r.rotationsPerSecond)),
      },
      {
        id: "stores-rotate-p99",
        title: "Store rotate p99 latency by store and live sessions",
        unit: "µs",
        note: "from the call to its answer; at 16 in flight the wait for the store's connection included",
        bars: bars((r) => Math.round(r.p99Micros)),
      },
      {
        id: "stores-bytes-per-session",
        title: `Bytes per live session at ${sizeLabel(largest)} sessions`,
        unit: "bytes",
        note: "SQLite file, PostgreSQL relations (indexes included), Redis used_memory; subjects' share included",
        bars: footprints
          .filter((f) => f.sessions === largest)
          .map((f) => ({ label: LABELS[f.store], value: Math.round(f.bytesPerSession) })),
      },
    ],
  });
}

await main();

// Native refreshes per second through `prolong serve` with one process and with several
// (`--workers N`), on SQLite, over loopback HTTP.
// Run after `npm run build`:
//   node bench/workers.mjs [--workers 2] [--duration 10] [--rounds 2] [--warmup 2]
//                          [--connections 16] [--sessions 5000] [--users 500]
// Prints a table and writes bench/results/workers.json. Figures are ratios within one run
// on one machine; nothing here is asserted, and it never runs inside `npm test`.
//
// Processes: this script seeds the sessions and prints; each server (its primary and
// workers) and each load generator (autocannon) run in processes of their own. Both
// servers get a copy of the same seeded file and their own load generator, whose chains
// of refresh tokens stay within that copy; they are measured in alternating slices, so a
// burst of load from elsewhere on the machine hits both alike. The load generator needs
// a core too: on a machine with N cores or fewer, N workers share them with it.
import { copyFileSync, existsSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import { join } from "node:path";
import { benchOptions } from "./lib/args.mjs";
import {
  benchScratch,
  freePort,
  seedNativeSessions,
  spawnServer,
  startLoad,
  stopServer,
  treeCpuSeconds,
  UNLIMITED_RATE_LIMITS,
} from "./lib/refresh-load.mjs";
import { clearProgress, fmt, printTable, writeResults } from "./lib/report.mjs";

/** @typedef {import("./lib/load-slices.mjs").RefreshFigures} RefreshFigures */

const opt = benchOptions({
  workers: { type: "number", default: 2, min: 2, max: 64, integer: true },
  duration: { type: "number", default: 10, quick: 3, min: 0.5, max: 3600 },
  warmup: { type: "number", default: 2, quick: 1, min: 0, max: 600 },
  rounds: { type: "number", default: 2, quick: 1, min: 1, max: 100, integer: true },
  connections: { type: "number", default: 16, min: 1, max: 1024, integer: true },
  sessions: { type: "number", default: 5_000, quick: 2_000, min: 1, max: 2_000_000, integer: true },
  users: { type: "number", default: 500, min: 1, max: 1_000_000, integer: true },
});
const WORKERS = opt.workers;
const DURATION = opt.duration;
const WARMUP = opt.warmup;
const ROUNDS = opt.rounds;
const CONNECTIONS = opt.connections;
const SESSIONS = opt.sessions;
const USERS = Math.min(opt.users, SESSIONS);
const { children, dir, stopAll } = benchScratch(
  "workers",
  120_000 + 2 * (WARMUP + DURATION) * 1000 + SESSIONS * 2,
);

/**
 * `prolong serve --workers n` on its own copy of the seeded file.
 * @param {number} n
 * @param {string} seeded
 * @param {readonly string[]} tokens
 */
async function startServer(n, seeded, tokens) {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const store = join(dir, `workers-${n}.db`);
  for (const suffix of ["", "-wal", "-shm"])
    if (existsSync(seeded + suffix)) copyFileSync(seeded + suffix, store + suffix);
  const configFile = join(dir, `workers-${n}.json`);
  writeFileSync(configFile, JSON.stringify({ rateLimits: UNLIMITED_RATE_LIMITS }));
  const server = await spawnServer(
    { dir, port, issuer, store, args: ["--workers", String(n)] },
    configFile,
    children,
  );
  const name = n === 1 ? "1 worker" : `${n} workers`;
  // Each load generator walks its own chains: the tokens are copied, not shared.
  const load = await startLoad(
    name,
    { url: server.url, tokens: [...tokens], chain: true },
    CONNECTIONS,
    children,
  );
  /** @type {RefreshFigures[]} */
  const rounds = [];
  return { name, server, load, rounds };
}

try {
  const seeded = join(dir, "seeded.db");
  const seedStart = process.hrtime.bigint();
  // Seeded for an issuer no server has: tokens do not name it, and each server names its own.
  const tokens = await seedNativeSessions(seeded, "http://127.0.0.1:1", USERS, SESSIONS);
  clearProgress();
  const seedSeconds = Number(process.hrtime.bigint() - seedStart) / 1e9;
  console.log(
    `seeded ${fmt(USERS)} users and ${fmt(SESSIONS)} native sessions in ${seedSeconds.toFixed(1)} s`,
  );

  const targets = /** @type {const} */ ([
    await startServer(1, seeded, tokens),
    await startServer(WORKERS, seeded, tokens),
  ]);
  if (WARMUP > 0) for (const t of targets) await t.load.run("warm-up", WARMUP);
  const slice = DURATION / ROUNDS;
  for (let round = 1; round <= ROUNDS; round++)
    for (const t of targets) {
      const pid = /** @type {number} */ (t.server.child.pid);
      const cpuBefore = treeCpuSeconds(pid);
      const figures = await t.load.run(`round ${round}/${ROUNDS}`, slice);
      const cpuAfter = treeCpuSeconds(pid);
      // What serving costs, whichever process does it: the primary and its workers.
      figures.serverCpuMicrosPerRequest =
        cpuBefore === null || cpuAfter === null || figures.requests === 0
          ? null
          : ((cpuAfter - cpuBefore) * 1e6) / figures.requests;
      t.rounds.push(figures);
    }
  for (const t of targets) t.load.child.disconnect();
  await Promise.all(targets.map((t) => stopServer(t.server.child)));
  clearProgress();

  // Interference only slows a round down: each configuration keeps its best.
  const best = (/** @type {RefreshFigures[]} */ rounds) =>
    rounds.reduce((a, b) => (b.requestsPerSecond > a.requestsPerSecond ? b : a));
  /** @typedef {{ name: string, rounds: RefreshFigures[], best: RefreshFigures }} Measured */
  const one = { ...targets[0], best: best(targets[0].rounds) };
  const many = { ...targets[1], best: best(targets[1].rounds) };
  const ms = (/** @type {number} */ n) => n.toFixed(2);
  const failures = (/** @type {Measured} */ t) => {
    const sum = (/** @type {"non200" | "connectionErrors" | "timeouts"} */ key) =>
      t.rounds.reduce((total, r) => total + r[key], 0);
    const failed = sum("non200") + sum("connectionErrors") + sum("timeouts");
    return failed === 0 ? "none" : `${fmt(failed)} (${JSON.stringify(t.rounds.map((r) => r.statuses))})`;
  };
  const row = (/** @type {Measured} */ t) => {
    const cpu = t.best.serverCpuMicrosPerRequest;
    return [
      t.name,
      fmt(t.best.requestsPerSecond),
      ms(t.best.p50),
      ms(t.best.p99),
      cpu == null ? "-" : cpu.toFixed(0),
      failures(t),
    ];
  };
  const ratio = (/** @type {"requestsPerSecond" | "p50" | "p99" | "serverCpuMicrosPerRequest"} */ key) => {
    const [a, b] = [many.best[key], one.best[key]];
    return a == null || b == null ? "-" : `${(a / b).toFixed(2)}x`;
  };
  console.log(
    `\nPOST /oauth/token (native refresh) over loopback, SQLite, ${CONNECTIONS} keep-alive connections; best of ${ROUNDS} alternating ${slice} s rounds after ${WARMUP} s warm-up`,
  );
  printTable(
    ["server", "req/s", "p50 ms", "p99 ms", "server CPU µs/req", "failed requests"],
    [
      row(one),
      row(many),
      [
        `${WORKERS} workers / 1 worker`,
        ratio("requestsPerSecond"),
        ratio("p50"),
        ratio("p99"),
        ratio("serverCpuMicrosPerRequest"),
        "",
      ],
    ],
  );
  const perRound = (/** @type {Measured} */ t) => t.rounds.map((r) => fmt(r.requestsPerSecond)).join(", ");
  console.log(`req/s per round: 1 worker ${perRound(one)}; ${WORKERS} workers ${perRound(many)}`);
  console.log(
    `server CPU µs/req: the CPU time (user + system, from /proc) of the primary and its workers per answer. node ${process.version}, ${availableParallelism()} cores for the servers and the load generator alike.`,
  );

  writeResults("workers", {
    node: process.version,
    cores: availableParallelism(),
    cpu: cpus()[0]?.model,
    options: {
      workers: WORKERS,
      durationSeconds: DURATION,
      rounds: ROUNDS,
      warmupSeconds: WARMUP,
      connections: CONNECTIONS,
      sessions: SESSIONS,
      users: USERS,
    },
    oneWorker: { best: one.best, rounds: one.rounds },
    workers: { best: many.best, rounds: many.rounds },
    ratio: {
      requestsPerSecond: many.best.requestsPerSecond / one.best.requestsPerSecond,
      p50: many.best.p50 / one.best.p50,
      p99: many.best.p99 / one.best.p99,
    },
  });
} catch (error) {
  clearProgress();
  const { message, output } = /** @type {Error & { output?: string }} */ (error);
  console.error(`bench: ${message}${output ? `\n${output}` : ""}`);
  process.exitCode = 1;
} finally {
  stopAll();
}
process.exit();

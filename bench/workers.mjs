// Native refreshes per second through `prolong serve` with one process and with several
// (`--workers N`), on SQLite, over loopback HTTP.
// Run after `npm run build`:
//   node bench/workers.mjs [--workers 1,2,N] [--duration 10] [--rounds 2] [--warmup 2]
//                          [--connections 16] [--sessions 5000] [--users 500]
// --workers: the worker counts to run, 1, 2 and the machine's core count by default.
// Prints a table and writes bench/results/workers.json. Figures are ratios within one run
// on one machine; nothing here is asserted, and it never runs inside `npm test`.
//
// Processes: this script seeds the sessions and prints; each server (its primary and
// workers) and each load generator (autocannon) run in processes of their own. Both
// servers get a copy of the same seeded file and their own load generator, whose chains
// of refresh tokens stay within that copy; they are measured in alternating slices, so a
// burst of load from elsewhere on the machine hits both alike. The load generator needs
// a core too. With `taskset` and three cores or more, the load generators are pinned to
// cores of their own (the last quarter, at least one) and the servers (primary and
// workers) to the rest; the cores used are printed. On two cores or fewer nothing is
// pinned and no scaling figure is claimed: servers and load generator share them.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
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
  workers: {
    type: "numbers",
    default: [...new Set([1, 2, availableParallelism()])],
    min: 1,
    max: 64,
    integer: true,
  },
  duration: { type: "number", default: 10, quick: 3, min: 0.5, max: 3600 },
  warmup: { type: "number", default: 2, quick: 1, min: 0, max: 600 },
  rounds: { type: "number", default: 2, quick: 1, min: 1, max: 100, integer: true },
  connections: { type: "number", default: 16, min: 1, max: 1024, integer: true },
  sessions: { type: "number", default: 5_000, quick: 2_000, min: 1, max: 2_000_000, integer: true },
  users: { type: "number", default: 500, min: 1, max: 1_000_000, integer: true },
});
const WORKERS = [...new Set(opt.workers)].sort((a, b) => a - b);
const CORES = availableParallelism();
const TASKSET = spawnSync("taskset", ["--version"]).status === 0;
// Pinned only where the load generators can have cores to themselves and the servers more than one.
const PIN = TASKSET && CORES >= 3;
const LOAD_CORES = PIN ? range(CORES - Math.max(1, Math.floor(CORES / 4)), CORES - 1) : null;
const SERVER_CORES = PIN && LOAD_CORES ? range(0, (LOAD_CORES[0] ?? 1) - 1) : null;

/**
 * @param {number} from
 * @param {number} to inclusive
 */
function range(from, to) {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/**
 * `pid` and every process under it, from /proc.
 * @param {number} pid
 * @returns {number[]}
 */
function processTree(pid) {
  let children = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean);
  } catch {
    return [pid];
  }
  return [pid, ...children.flatMap((child) => processTree(Number(child)))];
}

/**
 * Every thread of `pid` and of the processes under it onto `cores` (taskset -a -p).
 * @param {number | undefined} pid
 * @param {number[] | null} cores
 */
function pin(pid, cores) {
  if (pid === undefined || cores === null) return;
  for (const each of processTree(pid)) {
    const done = spawnSync("taskset", ["-a", "-p", "-c", cores.join(","), String(each)], {
      encoding: "utf8",
    });
    if (done.status !== 0) throw new Error(`taskset on ${each} failed: ${done.stderr}`);
  }
}
const DURATION = opt.duration;
const WARMUP = opt.warmup;
const ROUNDS = opt.rounds;
const CONNECTIONS = opt.connections;
const SESSIONS = opt.sessions;
const USERS = Math.min(opt.users, SESSIONS);
const { children, dir, stopAll } = benchScratch(
  "workers",
  120_000 + (WORKERS.length + 1) * (WARMUP + DURATION) * 1000 + SESSIONS * 2,
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
  pin(server.child.pid, SERVER_CORES);
  const name = n === 1 ? "1 worker" : `${n} workers`;
  // Each load generator walks its own chains: the tokens are copied, not shared.
  const load = await startLoad(
    name,
    { url: server.url, tokens: [...tokens], chain: true },
    CONNECTIONS,
    children,
  );
  pin(load.child.pid, LOAD_CORES);
  /** @type {RefreshFigures[]} */
  const rounds = [];
  return { n, name, server, load, rounds };
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
  const coresLine = PIN
    ? `${CORES} cores: servers (primary and workers) pinned to ${SERVER_CORES?.join(",")}, load generators to ${LOAD_CORES?.join(",")} (taskset)`
    : `${CORES} cores, nothing pinned (${TASKSET ? "fewer than 3 cores" : "no taskset"}): servers and load generators share cores ${range(0, CORES - 1).join(",")}`;
  console.log(coresLine);

  /** @type {Awaited<ReturnType<typeof startServer>>[]} */
  const targets = [];
  for (const n of WORKERS) targets.push(await startServer(n, seeded, tokens));
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
  /** @typedef {{ n: number, name: string, rounds: RefreshFigures[], best: RefreshFigures }} Measured */
  /** @type {Measured[]} */
  const measured = targets.map((t) => ({ n: t.n, name: t.name, rounds: t.rounds, best: best(t.rounds) }));
  const one = measured.find((t) => t.n === 1) ?? /** @type {Measured} */ (measured[0]);
  const ms = (/** @type {number} */ n) => n.toFixed(2);
  const failures = (/** @type {Measured} */ t) => {
    const sum = (/** @type {"non200" | "connectionErrors" | "timeouts"} */ key) =>
      t.rounds.reduce((total, r) => total + r[key], 0);
    const failed = sum("non200") + sum("connectionErrors") + sum("timeouts");
    return failed === 0 ? "none" : `${fmt(failed)} (${JSON.stringify(t.rounds.map((r) => r.statuses))})`;
  };
  // A scaling figure only where the servers had more than one core of their own.
  const scaling = PIN && (SERVER_CORES?.length ?? 0) > 1;
  console.log(
    `\nPOST /oauth/token (native refresh) over loopback, SQLite, ${CONNECTIONS} keep-alive connections; best of ${ROUNDS} alternating ${slice} s rounds after ${WARMUP} s warm-up`,
  );
  printTable(
    ["server", "req/s", `÷ ${one.name}`, "p50 ms", "p99 ms", "server CPU µs/req", "failed requests"],
    measured.map((t) => {
      const cpu = t.best.serverCpuMicrosPerRequest;
      return [
        t.name,
        fmt(t.best.requestsPerSecond),
        `${(t.best.requestsPerSecond / one.best.requestsPerSecond).toFixed(2)}x`,
        ms(t.best.p50),
        ms(t.best.p99),
        cpu == null ? "-" : cpu.toFixed(0),
        failures(t),
      ];
    }),
  );
  const perRound = (/** @type {Measured} */ t) => t.rounds.map((r) => fmt(r.requestsPerSecond)).join(", ");
  console.log(`req/s per round: ${measured.map((t) => `${t.name} ${perRound(t)}`).join("; ")}`);
  console.log(
    `server CPU µs/req: the CPU time (user + system, from /proc) of the primary and its workers per answer. node ${process.version}. ${coresLine}.`,
  );
  if (!scaling)
    console.log(
      `not a scaling figure: on ${CORES} cores the servers have no cores of their own (the load generator needs one), so the ratios above say what a second worker costs here, not how workers scale`,
    );

  writeResults("workers", {
    node: process.version,
    cores: CORES,
    cpu: cpus()[0]?.model,
    pinned: PIN ? { servers: SERVER_CORES, loadGenerators: LOAD_CORES } : null,
    scalingFigure: scaling,
    options: {
      workers: WORKERS,
      durationSeconds: DURATION,
      rounds: ROUNDS,
      warmupSeconds: WARMUP,
      connections: CONNECTIONS,
      sessions: SESSIONS,
      users: USERS,
    },
    rows: measured.map((t) => ({
      workers: t.n,
      best: t.best,
      rounds: t.rounds,
      ratioToOne: t.best.requestsPerSecond / one.best.requestsPerSecond,
    })),
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

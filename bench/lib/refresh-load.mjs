// What the refresh benches share: seeding a SQLite store with native sessions, starting
// `prolong serve` on it (or on any store), the bare node:http reference, and driving
// refreshes with a load generator in a process of its own (refresh-load-generator.mjs).
// Everything binds to 127.0.0.1.
import { execFile, fork, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { slices } from "./load-slices.mjs";
import { progress } from "./report.mjs";

const CLI = fileURLToPath(new URL("../../packages/server/dist/cli.js", import.meta.url));
const GENERATOR = fileURLToPath(new URL("./refresh-load-generator.mjs", import.meta.url));
const BARE_SERVER = fileURLToPath(new URL("./bare-server.mjs", import.meta.url));

/** @typedef {import("node:child_process").ChildProcess} ChildProcess */
/** @typedef {import("node:child_process").ChildProcessWithoutNullStreams} ServerProcess */
/** Every process a bench started, so that it can stop whatever is still running. */
/** @typedef {Set<ChildProcess>} Children */
/** @typedef {import("./load-slices.mjs").RefreshFigures} RefreshFigures */

/**
 * Budgets high enough that the limiter never answers (over ten times what one core
 * refreshes in a window), for benches that measure the refresh path itself.
 */
export const UNLIMITED_RATE_LIMITS = {
  login: { max: 1_000_000, windowSeconds: 60 },
  failedGrants: { max: 1_000_000, windowSeconds: 60 },
  grantsPerSession: { max: 1_000_000, windowSeconds: 60 },
};

/**
 * A bench's scratch space: the set of processes it starts, a temporary folder, and a
 * `stopAll` that kills what still runs and removes the folder. Bounded in time whatever
 * happens: after `budgetMs` a stuck child never keeps the bench alive.
 * @param {string} name a word for the folder's name
 * @param {number} budgetMs
 * @returns {{ children: Children, dir: string, stopAll: () => void }}
 */
export function benchScratch(name, budgetMs) {
  /** @type {Children} */
  const children = new Set();
  const dir = mkdtempSync(join(tmpdir(), `prolong-bench-${name}-`));
  const stopAll = () => {
    for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  setTimeout(() => {
    console.error(`\nbench: still running after ${budgetMs / 1000} s; stopping`);
    stopAll();
    process.exit(1);
  }, budgetMs).unref();
  return { children, dir, stopAll };
}

/**
 * Creates users and native sessions with the engine the server runs, on the SQLite file
 * the server then opens (same issuer, default policy, keys and refresh-token secret kept
 * in the store), before the server starts. Sessions made over the admin API take the
 * same engine path plus HTTP, and would cost this bench most of its minute.
 * @param {string} path
 * @param {string} issuer
 * @param {number} users
 * @param {number} sessions
 * @param {{ boundJkt?: string }} [options] `boundJkt`: every odd-numbered session is bound
 *   to this DPoP key thumbprint (RFC 9449), as a sign-in with its proof would bind it
 */
export async function seedNativeSessions(path, issuer, users, sessions, options = {}) {
  const { SessionEngine } = await import("@prolong/core");
  const { openSqliteStore } = await import("@prolong/store-sqlite");
  const store = openSqliteStore({ path });
  try {
    const engine = await SessionEngine.create({ store, issuer });
    /** @type {string[]} */
    const subjectIds = [];
    for (let i = 0; i < users; i++)
      subjectIds.push((await engine.createAccount({ username: `bench-${i}` })).subject.id);
    const initial = [];
    for (let i = 0; i < sessions; i++) {
      if (i % 1000 === 0) progress(`seeding: sessions ${i}/${sessions}`, i % 5000 === 0);
      const set = await engine.startSessionForSubject({
        subjectId: /** @type {string} */ (subjectIds[i % users]),
        clientId: "native",
        dpopJkt: options.boundJkt !== undefined && i % 2 === 1 ? options.boundJkt : null,
      });
      initial.push(set.refreshToken);
    }
    return initial;
  } finally {
    await store.close();
  }
}

/**
 * A port nobody uses right now, so the issuer URL is known before the server starts.
 * @returns {Promise<number>}
 */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createNetServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = /** @type {import("node:net").AddressInfo} */ (probe.address());
      probe.close(() => resolve(port));
    });
  });
}

/**
 * As e2e/server-process.ts does: spawn the CLI (`args` added to its flags), resolve once
 * it prints that it is up. `store` is a SQLite file, or `storeSpec` any `--store` value.
 * No demo flag: the seeded store is not empty, so no demo user is made, and none is needed.
 * @param {{ dir: string, port: number, issuer: string, store?: string, storeSpec?: string,
 *   args?: readonly string[] }} where
 * @param {string} configFile
 * @param {Children} children
 * @returns {Promise<{ url: string, child: ServerProcess }>}
 */
export async function spawnServer(
  { dir, port, issuer, store, storeSpec, args: extra = [] },
  configFile,
  children,
) {
  const args = ["serve", "--port", String(port), "--host", "127.0.0.1", "--issuer", issuer];
  args.push("--store", storeSpec ?? `sqlite:${store}`, "--config", configFile, ...extra);
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: dir,
    // Request logs off: the bench measures the refresh path, not pino.
    env: { PATH: process.env.PATH ?? "", PROLONG_LOG_LEVEL: "warn" },
  });
  children.add(child);
  let out = "";
  let err = "";
  const collect = (/** @type {Buffer} */ chunk) => {
    out += chunk;
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", (chunk) => {
    err += chunk;
  });
  /** @type {Promise<void>} */
  const up = new Promise((resolve, reject) => {
    const fail = (/** @type {string} */ message) => {
      clearTimeout(timer);
      reject(Object.assign(new Error(message), { output: `${err}${out}` }));
    };
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      fail("server did not print its address within 20 s");
    }, 20_000);
    const onExit = (/** @type {number | null} */ code) => fail(`server exited with code ${code}`);
    const watch = () => {
      if (!/prolong is up at \S+ \(listening on /.test(out)) return;
      clearTimeout(timer);
      child.off("exit", onExit);
      // Up: what it prints from now on is drained, not kept (a server logging each request
      // would fill memory) and not watched (stopServer's own exit listener must stay).
      child.stdout.off("data", collect);
      child.stdout.off("data", watch);
      child.stdout.resume();
      resolve();
    };
    child.stdout.on("data", watch);
    child.once("exit", onExit);
  });
  await up;
  return { url: issuer, child };
}

/**
 * Runs one `prolong` command (`migrate --store …`) to its end; its output, or an error with it.
 * @param {readonly string[]} args
 * @param {number} [timeoutMs]
 * @returns {Promise<string>}
 */
export function runProlong(args, timeoutMs = 120_000) {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { timeout: timeoutMs, env: { PATH: process.env.PATH ?? "" } },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`prolong ${args[0]} failed: ${error.message}\n${stderr}${stdout}`));
        else resolve(stdout.trim());
      },
    );
  });
}

/**
 * The bare node:http reference (bare-server.mjs) in a process of its own.
 * @param {Children} children
 */
export async function startBareServer(children) {
  const child = fork(BARE_SERVER, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  children.add(child);
  /** @type {{ port: number }} */
  const { port } = await onceMessage(child, 10_000, "bare server did not start");
  return { url: `http://127.0.0.1:${port}`, child };
}

/**
 * SIGTERM, then SIGKILL if it has not exited 10 s later; resolves once it has.
 * @param {ChildProcess} child
 * @returns {Promise<void>}
 */
export function stopServer(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const force = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.once("exit", () => {
      clearTimeout(force);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/**
 * A load-generator process aimed at `target.url`; `run` resolves with one slice's figures.
 * @param {string} name
 * @param {{ url: string, tokens: string[], chain: boolean }} target
 * @param {number} connections
 * @param {Children} children
 */
export async function startLoad(name, target, connections, children) {
  const child = fork(GENERATOR, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  children.add(child);
  /** @type {import("./refresh-load-generator.mjs").RefreshLoadInit} */
  const init = { ...target, connections };
  child.send(init);
  /** @type {(phase: string, duration: number) => Promise<RefreshFigures>} */
  const run = slices(name, child);
  return { child, run };
}

/**
 * The child's next message; rejects if it exits first or stays silent for `ms`.
 * @param {ChildProcess} child
 * @param {number} ms
 * @param {string} what
 * @returns {Promise<any>} the message, whose shape the caller knows from what it started
 */
export function onceMessage(child, ms, what) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} within ${ms / 1000} s`)), ms);
    const onExit = (/** @type {number | null} */ code) => {
      clearTimeout(timer);
      reject(new Error(`${what}: exited with code ${code}`));
    };
    child.once("exit", onExit);
    child.once("message", (message) => {
      clearTimeout(timer);
      child.off("exit", onExit);
      resolve(message);
    });
  });
}

/**
 * CPU seconds a process has used so far (user + system, all its threads), from Linux's
 * /proc; `null` elsewhere. Per request, it is what a server costs even when the load
 * generator, not the server, sets the pace (the bare and Fastify rows).
 * @param {number | null | undefined} pid
 * @returns {number | null}
 */
export function cpuSeconds(pid) {
  if (pid === null || pid === undefined) return null;
  try {
    // Fields after the parenthesised name: utime and stime are the 12th and 13th, in
    // USER_HZ ticks, which the /proc interface fixes at 100 a second.
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    const seconds = (Number(fields[11]) + Number(fields[12])) / 100;
    return Number.isFinite(seconds) ? seconds : null;
  } catch {
    return null;
  }
}

/**
 * A process's resident memory now and its peak so far (VmRSS, VmHWM), in bytes, from
 * Linux's /proc; `null` elsewhere.
 * @param {number | null | undefined} pid
 * @returns {{ rss: number, peak: number } | null}
 */
export function residentBytes(pid) {
  if (pid === null || pid === undefined) return null;
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (/** @type {string} */ field) =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1]);
    const [rss, peak] = [kb("VmRSS") * 1024, kb("VmHWM") * 1024];
    return Number.isFinite(rss) && Number.isFinite(peak) ? { rss, peak } : null;
  } catch {
    return null;
  }
}

/**
 * CPU seconds a process and its children have used so far (a `--workers` primary and
 * its workers), from /proc; `null` elsewhere. Children that have exited are not counted.
 * @param {number} pid
 * @returns {number | null}
 */
export function treeCpuSeconds(pid) {
  const own = cpuSeconds(pid);
  if (own === null) return null;
  let children;
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean);
  } catch {
    return null;
  }
  let total = own;
  for (const child of children) {
    const seconds = treeCpuSeconds(Number(child));
    if (seconds === null) return null;
    total += seconds;
  }
  return total;
}

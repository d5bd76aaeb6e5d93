// `prolong serve` on any store spec, as the behaviour benches run it (the database
// servers come from database-servers.mjs). Everything listens on 127.0.0.1 only.
// Whatever is started is registered, and `stopEverythingNow` (called on exit, SIGINT
// included) ends it all.
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "./refresh-load.mjs";

const CLI = fileURLToPath(new URL("../../packages/server/dist/cli.js", import.meta.url));

/** @typedef {Awaited<ReturnType<typeof startProlong>>} ProlongServer */

/**
 * Synchronous teardowns of what runs now, so an exit or a Ctrl-C leaves nothing behind.
 * @type {Set<() => void>}
 */
const running = new Set();

/** Stops every process started here and deletes their directories, synchronously. */
export function stopEverythingNow() {
  for (const teardown of [...running]) {
    running.delete(teardown);
    try {
      teardown();
    } catch {
      // Gone already.
    }
  }
}
process.once("exit", stopEverythingNow);

/**
 * Runs the CLI to completion (`prolong migrate`, …), for at most 60 s.
 * @param {readonly string[]} args
 * @param {Record<string, string>} [env]
 * @returns {Promise<{ code: number | string, stdout: string, stderr: string }>}
 */
export function runProlong(args, env = {}) {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: tmpdir(), env: { PATH: process.env.PATH ?? "", ...env }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? (error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/**
 * `prolong serve` on `store` (a `--store` spec) at `port` (default a free loopback one), with `issuer`
 * and only PATH, PROLONG_LOG_LEVEL=warn and `env` in its environment; resolves once it
 * prints that it is up, or fails with what it printed within 20 s. `stop()` sends SIGTERM
 * and waits (SIGKILL after 10 s).
 * @param {{ store: string, issuer?: string, env?: Record<string, string>, args?: readonly string[],
 *   port?: number }} options
 */
export async function startProlong({ store, issuer, env = {}, args = [], port: wanted }) {
  const port = wanted ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), "prolong-bench-serve-"));
  const cliArgs = ["serve", "--port", String(port), "--host", "127.0.0.1", "--store", store, ...args];
  if (issuer) cliArgs.push("--issuer", issuer);
  const child = spawn(process.execPath, [CLI, ...cliArgs], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? "", PROLONG_LOG_LEVEL: "warn", ...env },
  });
  const teardown = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  running.add(teardown);
  let out = "";
  child.stdout.on("data", (chunk) => {
    // Only the start-up lines are kept; a server logging more would fill memory.
    if (out.length < 20_000) out += chunk;
  });
  child.stderr.on("data", (chunk) => {
    if (out.length < 20_000) out += chunk;
  });
  /** @type {Promise<void>} */
  const up = new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`prolong serve did not start within 20 s:\n${out}`));
    }, 20_000);
    const onExit = (/** @type {number | null} */ code) => {
      clearTimeout(timer);
      reject(new Error(`prolong serve exited with ${code}:\n${out}`));
    };
    child.once("exit", onExit);
    child.stdout.on("data", function watch() {
      if (!/prolong is up at \S+ \(listening on /.test(out)) return;
      clearTimeout(timer);
      child.off("exit", onExit);
      child.stdout.off("data", watch);
      resolve();
    });
  });
  await up;
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    /** @returns {Promise<void>} */
    stop: () =>
      new Promise((resolve) => {
        // Registered until it has gone: an interrupt meanwhile still kills it and cleans up.
        const gone = () => {
          clearTimeout(force);
          running.delete(teardown);
          rmSync(dir, { recursive: true, force: true });
          resolve();
        };
        const force = setTimeout(() => child.kill("SIGKILL"), 10_000);
        if (child.exitCode !== null || child.signalCode !== null) return gone();
        child.once("exit", gone);
        child.kill("SIGTERM");
      }),
  };
}

/**
 * Counters of a server's /metrics whose name is `name`, by their label set.
 * @param {string} url
 * @param {string} name
 */
export async function metricValues(url, name) {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  /** @type {Record<string, number>} */
  const out = {};
  for (const m of text.matchAll(new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`, "gm")))
    out[m[1] ?? ""] = Number(m[2]);
  return out;
}

/**
 * The p-th percentile (0–100) of an ascending array; NaN when it is empty.
 * @param {ArrayLike<number>} sorted
 * @param {number} p
 * @returns {number}
 */
export function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  return (
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN
  );
}

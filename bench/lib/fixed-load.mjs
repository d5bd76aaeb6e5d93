// What the peer benches share: a server script started as a process of its own, a load
// generator aimed at it in another (fixed-load-generator.mjs), and several targets
// measured in alternating slices with the best slice kept. Everything binds to 127.0.0.1.
import { fork, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { slices } from "./load-slices.mjs";
import { cpuSeconds } from "./refresh-load.mjs";
import { fmt } from "./report.mjs";

const GENERATOR = fileURLToPath(new URL("./fixed-load-generator.mjs", import.meta.url));

/** @typedef {import("./refresh-load.mjs").Children} Children */
/** @typedef {import("./load-slices.mjs").SliceFigures} SliceFigures */
/** @typedef {(phase: string, seconds: number) => Promise<SliceFigures>} RunSlice */
/**
 * A target's rounds, its best, and its totals over them.
 * @typedef {ReturnType<typeof summarise>} Measured
 */

/**
 * Spawns `node script ...args` and resolves with its URL once it prints
 * "listening on http://127.0.0.1:PORT". What it prints later is drained, not kept.
 * @param {string} script
 * @param {readonly string[]} args
 * @param {Children} children
 * @param {Record<string, string>} [env]
 * @param {number} [timeoutMs] how long it may take to say so (a script that seeds first needs longer)
 */
export async function startServerScript(script, args, children, env = {}, timeoutMs = 20_000) {
  const child = spawn(process.execPath, [script, ...args], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  let output = "";
  /** @type {string} */
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${script} did not say it was listening within ${timeoutMs / 1000} s:\n${output}`));
    }, timeoutMs);
    const onExit = (/** @type {number | null} */ code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with code ${code}:\n${output}`));
    };
    const watch = (/** @type {Buffer} */ chunk) => {
      output += chunk;
      const found = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (!found) return;
      clearTimeout(timer);
      child.off("exit", onExit);
      child.stdout.off("data", watch);
      child.stderr.off("data", watch);
      child.stdout.resume();
      child.stderr.on("data", (/** @type {Buffer} */ text) => process.stderr.write(text));
      resolve(/** @type {string} */ (found[1]));
    };
    child.stdout.on("data", watch);
    child.stderr.on("data", watch);
    child.once("exit", onExit);
  });
  return { url, child };
}

/**
 * A load-generator process sending `request` to `url` over `connections` keep-alive
 * connections; connection i adds `connectionHeaders[i % n]` to the request's headers.
 * `run(phase, seconds)` resolves with one slice's figures.
 * @param {string} name
 * @param {Omit<import("./fixed-load-generator.mjs").FixedLoadInit, "connections">} target
 * @param {number} connections
 * @param {Children} children
 */
export async function startFixedLoad(name, { url, request, connectionHeaders }, connections, children) {
  const child = fork(GENERATOR, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  children.add(child);
  /** @type {import("./fixed-load-generator.mjs").FixedLoadInit} */
  const init = { url, request, connections };
  if (connectionHeaders) init.connectionHeaders = connectionHeaders;
  child.send(init);
  /** @type {RunSlice} */
  const run = slices(name, child);
  return { child, run };
}

/**
 * Measures each target in turn, round after round, so a burst of load from elsewhere on
 * the machine hits all alike, and keeps each target's best round (interference only ever
 * slows a round down). A target is `{ load, pid }`; `pid` is the server whose CPU time
 * per answer is recorded. Returns `{ [key]: { best, rounds, totals } }`.
 * @template {string} K
 * @param {Record<K, { load: { run: RunSlice }, pid: number | undefined }>} targets
 * @param {{ warmup: number, rounds: number, slice: number }} schedule
 * @returns {Promise<Record<K, Measured>>}
 */
export async function measureAlternating(targets, { warmup, rounds, slice }) {
  /** @type {[K, { load: { run: RunSlice }, pid: number | undefined }][]} */
  const entries = /** @type {any} */ (Object.entries(targets));
  if (warmup > 0) for (const [, { load }] of entries) await load.run("warm-up", warmup);
  /** @type {Map<K, SliceFigures[]>} */
  const measured = new Map(entries.map(([key]) => [key, []]));
  for (let round = 1; round <= rounds; round++) {
    for (const [key, { load, pid }] of entries) {
      const before = cpuSeconds(pid);
      const figures = await load.run(`round ${round}/${rounds}`, slice);
      const after = cpuSeconds(pid);
      figures.serverCpuMicrosPerRequest =
        before === null || after === null || figures.requests === 0
          ? null
          : ((after - before) * 1e6) / figures.requests;
      measured.get(key)?.push(figures);
    }
  }
  return /** @type {Record<K, Measured>} */ (
    Object.fromEntries([...measured].map(([key, list]) => [key, summarise(list)]))
  );
}

/** @param {SliceFigures[]} rounds at least one */
function summarise(rounds) {
  const best = rounds.reduce((a, b) => (b.requestsPerSecond > a.requestsPerSecond ? b : a));
  /** @type {Record<string, number>} */
  const statuses = {};
  for (const r of rounds)
    for (const [code, n] of Object.entries(r.statuses)) statuses[code] = (statuses[code] ?? 0) + n;
  /** @param {"requests" | "non200" | "connectionErrors" | "timeouts"} key */
  const total = (key) => rounds.reduce((sum, r) => sum + (r[key] ?? 0), 0);
  return {
    best,
    rounds,
    totals: {
      requests: total("requests"),
      statuses,
      non200: total("non200"),
      connectionErrors: total("connectionErrors"),
      timeouts: total("timeouts"),
    },
  };
}

/**
 * "N non-200 (code: n), E socket errors, T timeouts" over all rounds, or "none".
 * @param {Measured} measured
 */
export function describeErrors({ totals: t }) {
  const parts = [];
  const codes = Object.entries(t.statuses).filter(([code]) => code !== "200");
  if (t.non200)
    parts.push(`${fmt(t.non200)} non-200 (${codes.map(([c, n]) => `${c}: ${fmt(n)}`).join(", ")})`);
  if (t.connectionErrors) parts.push(`${t.connectionErrors} socket errors`);
  if (t.timeouts) parts.push(`${t.timeouts} timeouts`);
  return parts.length ? parts.join(", ") : "none";
}

/**
 * Kills every child still running, when the bench ends or overruns `budgetMs`: a stuck
 * child never keeps a bench alive. Returns the function that stops them.
 * @param {Children} children
 * @param {number} budgetMs
 * @param {() => void} [cleanup]
 */
export function boundedRun(children, budgetMs, cleanup = () => {}) {
  const stopAll = () => {
    for (const child of children)
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    cleanup();
  };
  setTimeout(() => {
    console.error(`\nbench: still running after ${Math.round(budgetMs / 1000)} s; stopping`);
    stopAll();
    process.exit(1);
  }, budgetMs).unref();
  return stopAll;
}

// What the peer benches share: a server script started as a process of its own, a load
// generator aimed at it in another (fixed-load-generator.mjs), and several targets
// measured in alternating slices with the best slice kept. Everything binds to 127.0.0.1.
import { fork, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { slices } from "./load-slices.mjs";
import { cpuSeconds } from "./refresh-load.mjs";
import { fmt } from "./report.mjs";

const GENERATOR = fileURLToPath(new URL("./fixed-load-generator.mjs", import.meta.url));

/**
 * Spawns `node script ...args` and resolves with its URL once it prints
 * "listening on http://127.0.0.1:PORT". What it prints later is drained, not kept.
 */
export async function startServerScript(script, args, children, env = {}) {
  const child = spawn(process.execPath, [script, ...args], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  let output = "";
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${script} did not say it was listening within 20 s:\n${output}`));
    }, 20_000);
    const onExit = (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with code ${code}:\n${output}`));
    };
    const watch = (chunk) => {
      output += chunk;
      const found = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (!found) return;
      clearTimeout(timer);
      child.off("exit", onExit);
      child.stdout.off("data", watch);
      child.stderr.off("data", watch);
      child.stdout.resume();
      child.stderr.on("data", (text) => process.stderr.write(text));
      resolve(found[1]);
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
 */
export async function startFixedLoad(name, { url, request, connectionHeaders }, connections, children) {
  const child = fork(GENERATOR, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  children.add(child);
  child.send({ url, request, connectionHeaders, connections });
  return { child, run: slices(name, child) };
}

/**
 * Measures each target in turn, round after round, so a burst of load from elsewhere on
 * the machine hits all alike, and keeps each target's best round (interference only ever
 * slows a round down). A target is `{ load, pid }`; `pid` is the server whose CPU time
 * per answer is recorded. Returns `{ [key]: { best, rounds, totals } }`.
 */
export async function measureAlternating(targets, { warmup, rounds, slice }) {
  if (warmup > 0) for (const { load } of Object.values(targets)) await load.run("warm-up", warmup);
  const measured = Object.fromEntries(Object.keys(targets).map((key) => [key, []]));
  for (let round = 1; round <= rounds; round++) {
    for (const [key, { load, pid }] of Object.entries(targets)) {
      const before = cpuSeconds(pid);
      const figures = await load.run(`round ${round}/${rounds}`, slice);
      const after = cpuSeconds(pid);
      figures.serverCpuMicrosPerRequest =
        before === null || after === null || figures.requests === 0
          ? null
          : ((after - before) * 1e6) / figures.requests;
      measured[key].push(figures);
    }
  }
  return Object.fromEntries(Object.entries(measured).map(([key, list]) => [key, summarise(list)]));
}

function summarise(rounds) {
  const best = rounds.reduce((a, b) => (b.requestsPerSecond > a.requestsPerSecond ? b : a));
  const statuses = {};
  for (const r of rounds)
    for (const [code, n] of Object.entries(r.statuses)) statuses[code] = (statuses[code] ?? 0) + n;
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

/** "N non-200 (code: n), E socket errors, T timeouts" over all rounds, or "none". */
export function describeErrors({ totals: t }) {
  const parts = [];
  const codes = Object.entries(t.statuses).filter(([code]) => code !== "200");
  if (t.non200)
    parts.push(`${fmt(t.non200)} non-200 (${codes.map(([c, n]) => `${c}: ${fmt(n)}`).join(", ")})`);
  if (t.connectionErrors) parts.push(`${t.connectionErrors} socket errors`);
  if (t.timeouts) parts.push(`${t.timeouts} timeouts`);
  return parts.length ? parts.join(", ") : "none";
}

/** Reads `--name value` as a number (or `fallback`), and `--quick` as a flag. */
export function options(defaults, quick) {
  const isQuick = process.argv.includes("--quick");
  const out = {};
  for (const [name, fallback] of Object.entries(defaults)) {
    const at = process.argv.indexOf(`--${name}`);
    out[name] = at > 0 ? Number(process.argv[at + 1]) : isQuick && name in quick ? quick[name] : fallback;
  }
  out.quick = isQuick;
  return out;
}

/**
 * Kills every child still running, when the bench ends or overruns `budgetMs`: a stuck
 * child never keeps a bench alive. Returns the function that stops them.
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

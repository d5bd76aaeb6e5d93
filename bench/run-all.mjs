// Every bench in turn, then the plots: `npm run bench` (after `npm run build`).
//   node bench/run-all.mjs [--quick] [--only verify,peers]
// --quick runs each bench with short durations (while developing on a shared machine);
// the figures worth reading come from a run without it. Each bench prints its own table
// and writes bench/results/<name>.json; bench/plot.mjs then draws docs/benchmarks/*.svg.
// A bench whose file does not exist is skipped with a line saying so; one that fails is
// reported and the others still run. Nothing here is asserted on a time.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { benchOptions } from "./lib/args.mjs";

/** In running order; `quick` are the arguments that shorten a bench for --quick. */
const BENCHES = [
  { name: "verify", quick: ["--seconds", "0.1", "--rounds", "2"] },
  { name: "edge-verify", quick: ["--quick"] },
  { name: "client-size", quick: [] },
  { name: "primitives", quick: ["--seconds", "0.1", "--rounds", "2"] },
  { name: "stores", quick: ["--quick"] },
  { name: "refresh-stores", quick: ["--quick"] },
  {
    name: "refresh-http",
    quick: ["--duration", "3", "--rounds", "1", "--warmup", "1", "--sessions", "2000"],
  },
  { name: "peers", quick: ["--quick"] },
  { name: "protected-route", quick: ["--quick"] },
  { name: "bearer-routes", quick: ["--quick"] },
  { name: "ssr-page", quick: ["--quick"] },
  { name: "workers", quick: ["--duration", "3", "--rounds", "1", "--warmup", "1", "--sessions", "2000"] },
  { name: "revocation-latency", quick: ["--quick"] },
  { name: "refresh-storm", quick: ["--quick"] },
  { name: "dpop", quick: ["--quick"] },
];

/** No bench may keep the run going for ever: one that overruns this is stopped. */
const LIMIT_MS = 30 * 60 * 1000;

/**
 * Runs `node file ...args` with the terminal shared; resolves with its exit code (or signal).
 * @param {string} file
 * @param {readonly string[]} args
 * @returns {Promise<number | string>}
 */
function run(file, args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file, ...args], { stdio: "inherit" });
    const timer = setTimeout(() => {
      console.error(`\n${file}: still running after ${LIMIT_MS / 60_000} min; stopping it`);
      child.kill("SIGKILL");
    }, LIMIT_MS);
    const stop = () => child.kill("SIGTERM");
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve(code ?? signal ?? "no exit code");
    });
    child.once("error", (error) => {
      clearTimeout(timer);
      resolve(error.message);
    });
  });
}

async function main() {
  const names = BENCHES.map((bench) => bench.name);
  const { quick, only } = benchOptions({ only: { type: "list", default: names, choices: names } });
  const chosen = BENCHES.filter((bench) => only.includes(bench.name));
  const outcomes = [];
  const started = Date.now();
  for (const [i, bench] of chosen.entries()) {
    const step = `[${i + 1}/${chosen.length}] ${bench.name}`;
    const file = fileURLToPath(new URL(`./${bench.name}.mjs`, import.meta.url));
    if (!existsSync(file)) {
      console.log(`${step}: skipped, bench/${bench.name}.mjs does not exist yet`);
      outcomes.push({ name: bench.name, outcome: "skipped (no file)" });
      continue;
    }
    console.log(`\n${step}: running${quick ? " (quick)" : ""}`);
    const t0 = Date.now();
    const code = await run(file, quick ? bench.quick : []);
    const seconds = Math.round((Date.now() - t0) / 1000);
    const outcome = code === 0 ? `done in ${seconds} s` : `FAILED (${code}) after ${seconds} s`;
    console.log(`${step}: ${outcome}`);
    outcomes.push({ name: bench.name, outcome });
  }

  console.log("\n[plots] bench/plot.mjs");
  const plotCode = await run(fileURLToPath(new URL("./plot.mjs", import.meta.url)), []);
  console.log(`\nsummary, ${Math.round((Date.now() - started) / 1000)} s in all:`);
  for (const { name, outcome } of outcomes) console.log(`  ${name.padEnd(20)} ${outcome}`);
  console.log(`  ${"plots".padEnd(20)} ${plotCode === 0 ? "drawn" : `FAILED (${plotCode})`}`);
  if (plotCode !== 0 || outcomes.some((o) => o.outcome.startsWith("FAILED"))) process.exitCode = 1;
}

await main();

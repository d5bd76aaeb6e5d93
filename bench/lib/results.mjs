// The shape every bench writes to bench/results/<name>.json: raw figures in `rows`, and
// the bar charts bench/plot.mjs draws from them in `plots`.
import { cpus } from "node:os";
import { writeResults } from "./report.mjs";

/** The machine a run happened on: figures only compare within one run on one machine. */
export function machine() {
  return { cpus: cpus().length, cpu: cpus()[0]?.model ?? "unknown", node: process.version };
}

/**
 * Writes bench/results/<bench>.json as `{ bench, ranAt, machine, rows, plots, ...extra }`.
 * @param {string} bench
 * @param {{ rows: unknown, plots: import("../plot.mjs").Plot[], [extra: string]: unknown }} data
 */
export function writeBenchResults(bench, { rows, plots, ...extra }) {
  writeResults(bench, { bench, ranAt: new Date().toISOString(), machine: machine(), rows, plots, ...extra });
}

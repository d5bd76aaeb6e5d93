// What every bench does with its figures once measured: a table on the terminal and a
// JSON file under bench/results/ (ignored by git), so runs can be compared later.
import { mkdirSync, writeFileSync } from "node:fs";

/**
 * Prints rows of text cells in columns as wide as their widest cell, the header first.
 * @param {readonly string[]} header
 * @param {readonly (readonly string[])[]} lines
 */
export function printTable(header, lines) {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]?.length ?? 0)));
  const print = (/** @type {readonly string[]} */ cells) =>
    console.log(cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  "));
  print(header);
  for (const line of lines) print(line);
}

/**
 * Writes `data` as bench/results/<name>.json and says where.
 * @param {string} name
 * @param {unknown} data
 */
export function writeResults(name, data) {
  const results = new URL("../results/", import.meta.url);
  mkdirSync(results, { recursive: true });
  writeFileSync(new URL(`${name}.json`, results), `${JSON.stringify(data, null, 2)}\n`);
  console.log(`written to bench/results/${name}.json`);
}

/**
 * A whole number with thousands separators.
 * @param {number} n
 */
export function fmt(n) {
  return Math.round(n).toLocaleString("en-US");
}

let progressShown = false;
/**
 * One line that rewrites itself on a terminal; in a log, only the `milestone` lines.
 * @param {string} text
 * @param {boolean} [milestone]
 */
export function progress(text, milestone) {
  if (process.stderr.isTTY) {
    process.stderr.write(`\r\x1b[K${text}`);
    progressShown = true;
  } else if (milestone) {
    process.stderr.write(`${text}\n`);
  }
}

export function clearProgress() {
  if (progressShown) process.stderr.write("\r\x1b[K");
  progressShown = false;
}

/**
 * How a bench ends when something fails: the progress line cleared, one line naming the
 * failure, and a failing exit code, once every child is stopped (the caller's `finally`).
 * @param {unknown} error
 */
export function benchFailed(error) {
  clearProgress();
  console.error(`bench: ${/** @type {Error} */ (error).message}`);
  process.exitCode = 1;
}

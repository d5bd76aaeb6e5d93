// Driving a load-generator child (refresh-load-generator.mjs, fixed-load-generator.mjs)
// slice by slice: the parent sends { phase, duration }, the child sends ticks, then a result.
import { fmt, progress } from "./report.mjs";

/**
 * One slice's figures, as a load generator measured them (latencies in ms); the bench
 * adds the CPU its server (and database) spent per request.
 * @typedef {object} SliceFigures
 * @property {string} phase
 * @property {number} requestsPerSecond
 * @property {number} requests
 * @property {number} seconds
 * @property {number} p50
 * @property {number} p99
 * @property {Record<string, number>} statuses
 * @property {number} non200
 * @property {number} connectionErrors
 * @property {number} timeouts
 * @property {number | null} [serverCpuMicrosPerRequest]
 * @property {number | null} [databaseCpuMicrosPerRequest]
 */
/** @typedef {SliceFigures & { brokenChains: number }} RefreshFigures What the refresh load generator also counts: answers without a refresh_token to chain on. */
/** @typedef {{ type: "tick", phase: string, second: number, counter: number }} TickMessage */
/** @typedef {{ type: "result" } & SliceFigures} ResultMessage */
/** @typedef {{ phase: string, duration: number }} SliceRequest */

/**
 * `run(phase, seconds)` for a load-generator child: sends the slice, shows its ticks and
 * resolves with its result. One listener for the child's whole life, as a tick and the
 * result can arrive in the same turn of the event loop: a listener added per message
 * would miss the second.
 * @template {SliceFigures} [F=SliceFigures]
 * @param {string} name
 * @param {import("node:child_process").ChildProcess} child
 * @returns {(phase: string, duration: number) => Promise<F>}
 */
export function slices(name, child) {
  /** @type {Record<string, number>} */
  const seconds = {};
  /** @type {{ resolve: (figures: F) => void, reject: (error: Error) => void } | null} */
  let waiting = null;
  child.on("message", (/** @type {TickMessage | ResultMessage} */ m) => {
    if (m.type === "tick")
      progress(
        `${name}: ${m.phase}, ${m.second}/${seconds[m.phase]} s, ${fmt(m.counter)} req/s`,
        m.second === seconds[m.phase],
      );
    else if (m.type === "result" && waiting) {
      const { type: _, ...figures } = m;
      waiting.resolve(/** @type {F} */ (figures));
    }
  });
  child.on("exit", (code) => waiting?.reject(new Error(`${name}: load generator exited with code ${code}`)));
  return (phase, duration) =>
    new Promise((resolve, reject) => {
      seconds[phase] = Math.ceil(duration);
      const timer = setTimeout(
        () => reject(new Error(`${name}: no result from the load generator within ${duration + 30} s`)),
        (duration + 30) * 1000,
      );
      /**
       * @template T
       * @param {(value: T) => void} fn
       */
      const settle = (fn) => (/** @type {T} */ value) => {
        clearTimeout(timer);
        waiting = null;
        fn(value);
      };
      waiting = { resolve: settle(resolve), reject: settle(reject) };
      child.send(/** @type {SliceRequest} */ ({ phase, duration }));
    });
}

// Driving a load-generator child (refresh-load-generator.mjs, fixed-load-generator.mjs)
// slice by slice: the parent sends { phase, duration }, the child sends ticks, then a result.
import { fmt, progress } from "./report.mjs";

/**
 * `run(phase, seconds)` for a load-generator child: sends the slice, shows its ticks and
 * resolves with its result. One listener for the child's whole life, as a tick and the
 * result can arrive in the same turn of the event loop: a listener added per message
 * would miss the second.
 */
export function slices(name, child) {
  const seconds = {};
  let waiting = null;
  child.on("message", (m) => {
    if (m.type === "tick")
      progress(
        `${name}: ${m.phase}, ${m.second}/${seconds[m.phase]} s, ${fmt(m.counter)} req/s`,
        m.second === seconds[m.phase],
      );
    else if (m.type === "result" && waiting) {
      const { type: _, ...figures } = m;
      waiting.resolve(figures);
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
      const settle = (fn) => (value) => {
        clearTimeout(timer);
        waiting = null;
        fn(value);
      };
      waiting = { resolve: settle(resolve), reject: settle(reject) };
      child.send({ phase, duration });
    });
}

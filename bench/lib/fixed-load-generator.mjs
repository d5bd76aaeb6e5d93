// The load generator of the peer benches, in a process of its own (fixed-load.mjs's
// startFixedLoad forks it), so it never shares an event loop with a server it measures.
// Every request is the same, except for per-connection headers (a session cookie each).
//
// The process takes an `init` message { url, connections, request: { method, path,
// headers, body }, connectionHeaders? }, then one `run` message { phase, duration } per measured slice.
import { listenToParent, sendToParent } from "./parent-messages.mjs";

/** @typedef {import("./load-slices.mjs").TickMessage} TickMessage */
/** @typedef {import("./load-slices.mjs").ResultMessage} ResultMessage */
/** @typedef {import("./load-slices.mjs").SliceRequest} SliceRequest */
/**
 * @typedef {object} FixedLoadInit
 * @property {string} url
 * @property {number} connections
 * @property {{ method: string, path: string, headers?: Record<string, string>, body?: string }} request
 * @property {Record<string, string>[]} [connectionHeaders]
 */

async function runLoadGenerator() {
  const nextMessage = listenToParent();
  const { default: autocannon } = await import("autocannon");
  /** @type {FixedLoadInit} */
  const { url, request, connectionHeaders, connections } = await nextMessage();

  for (;;) {
    /** @type {SliceRequest} */
    const { phase, duration } = await nextMessage();
    let clients = 0;
    const setupClient = connectionHeaders?.length
      ? (/** @type {import("autocannon").Client} */ client) => {
          const own = connectionHeaders[clients++ % connectionHeaders.length];
          client.setHeaders({ ...request.headers, ...own });
        }
      : undefined;
    /** @type {number[]} */
    const latencies = [];
    const instance = autocannon({
      // autocannon takes the path as part of the URL.
      url: new URL(request.path, url).href,
      connections,
      duration,
      pipelining: 1,
      timeout: 10,
      method: request.method,
      headers: request.headers,
      body: request.body,
      setupClient,
    });
    let second = 0;
    instance.on("tick", ({ counter }) =>
      sendToParent(/** @type {TickMessage} */ ({ type: "tick", phase, second: ++second, counter })),
    );
    // autocannon's own histogram keeps whole milliseconds; these are exact.
    instance.on("response", (_client, _status, _bytes, ms) => latencies.push(ms));
    const result = await instance;
    latencies.sort((a, b) => a - b);
    const pct = (/** @type {number} */ p) =>
      latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
    const statuses = Object.fromEntries(
      Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count]),
    );
    /** @type {ResultMessage} */
    const message = {
      type: "result",
      phase,
      requestsPerSecond: result.requests.total / result.duration,
      requests: result.requests.total,
      seconds: result.duration,
      p50: pct(50) ?? 0,
      p99: pct(99) ?? 0,
      statuses,
      non200: Object.entries(statuses).reduce((sum, [code, n]) => sum + (code === "200" ? 0 : n), 0),
      connectionErrors: result.errors,
      timeouts: result.timeouts,
    };
    sendToParent(message);
  }
}

runLoadGenerator();

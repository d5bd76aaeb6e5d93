// The load generator of the refresh benches, in a process of its own (refresh-load.mjs's
// startLoad forks it), so it never shares an event loop with the server it measures.
import { listenToParent, sendToParent } from "./parent-messages.mjs";

/** @typedef {import("./load-slices.mjs").TickMessage} TickMessage */
/** @typedef {import("./load-slices.mjs").RefreshFigures} RefreshFigures */
/** @typedef {import("./load-slices.mjs").SliceRequest} SliceRequest */
/**
 * What the parent sends first: the server, the connections, and one refresh token per
 * session; `chain` says whether each answer's refresh_token replaces the one sent.
 * @typedef {{ url: string, connections: number, chain: boolean, tokens: string[] }} RefreshLoadInit
 */

const FORM_HEADERS = { "content-type": "application/x-www-form-urlencoded", accept: "application/json" };

/**
 * autocannon with one chain of refresh tokens per session. Connection c of C owns
 * sessions c, c + C, c + 2C, … and walks through them round-robin; each 200 answer's
 * refresh_token replaces the token just sent, so every request is a real rotation.
 *
 * autocannon's per-connection `context` is reset each time a connection loops over its
 * `requests` (with one request: after every response), so it cannot carry a chain. The
 * state lives instead in closures that `setupClient` installs on each connection;
 * pipelining stays at 1, so a connection's next request is built only after the answer
 * to its previous one (autocannon calls onResponse, then setupRequest). Each run makes
 * exactly C connections, so slots stay disjoint; a request cut off at the end of a run
 * may still rotate on the server, and presenting its token again next run is a replay
 * inside the grace window (same successor, counted as "replayed"), not a reuse.
 *
 * The process takes an `init` message, then one `run` message per measured slice.
 */
async function runLoadGenerator() {
  const nextMessage = listenToParent();
  const { default: autocannon } = await import("autocannon");
  /** @type {RefreshLoadInit} */
  const init = await nextMessage();
  const { url, connections, chain, tokens } = init;
  const count = tokens.length;
  const cursors = Array.from({ length: connections }, (_, slot) => slot);
  let clients = 0;
  let brokenChains = 0;

  /** @param {import("autocannon").Client} client */
  function setupClient(client) {
    const slot = clients++ % connections;
    let current = slot;
    client.setRequests([
      {
        method: "POST",
        path: "/oauth/token",
        headers: FORM_HEADERS,
        setupRequest(request) {
          current = cursors[slot] ?? slot;
          cursors[slot] = current + connections < count ? current + connections : slot;
          return {
            ...request,
            body: `grant_type=refresh_token&client_id=native&refresh_token=${tokens[current]}`,
          };
        },
        onResponse(status, body) {
          if (!chain || status !== 200) return;
          let next;
          try {
            next = JSON.parse(body).refresh_token;
          } catch {
            next = undefined;
          }
          if (typeof next === "string") tokens[current] = next;
          else brokenChains++;
        },
      },
    ]);
  }

  for (;;) {
    /** @type {SliceRequest} */
    const { phase, duration } = await nextMessage();
    clients = 0;
    brokenChains = 0;
    /** @type {number[]} */
    const latencies = [];
    const instance = autocannon({ url, connections, duration, pipelining: 1, timeout: 10, setupClient });
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
      Object.entries(result.statusCodeStats).map(([code, { count: n }]) => [code, n]),
    );
    /** @type {{ type: "result" } & RefreshFigures} */
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
      brokenChains,
    };
    sendToParent(message);
  }
}

runLoadGenerator();

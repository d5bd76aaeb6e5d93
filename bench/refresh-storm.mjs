// A refresh storm: many native sessions whose access tokens were issued in the same
// instant, kept alive by real `SessionClient`s of @prolong/client against one real
// `prolong serve` on SQLite, with the SDK's renewal jitter on (its default, 10 s) and
// off (`jitter: 0`). Measured: requests per 100 ms (peak, and the timeline), 429
// answers, refresh latency, and whether any client signed out.
// Run after `npm run build`:
//   node bench/refresh-storm.mjs [--quick] [--sessions 10000] [--connections 64] [--short-ttl 120]
// --quick: 1 000 sessions. Prints a table and writes bench/results/refresh-storm.json.
// Nothing is asserted, and it never runs inside `npm test`.
//
// What runs, exactly:
// - Sessions: created in this process with the engine the server runs, on the SQLite
//   file the server then opens, its clock held at one instant, so every access token has
//   the same `iat`, `exp` and `rfa`. The server runs with its defaults: no rate limit is
//   raised. Two token lifetimes: the default native profile's (300 s) and a shorter one
//   (--short-ttl, `profiles.native.accessTokenTtl` in the server's config).
// - Clients: one `SessionClient` per session (profile native, every option at its
//   default except those named here), all in this process. Each signs in once: the SDK
//   asks its `fetch` for the server's metadata and posts to the login endpoint; those two
//   answers come from memory (the metadata fetched once from the server, and the token
//   answer the engine issued for that session), so the sign-ins of all clients land
//   within a fraction of a second, as if the tokens had just been issued. Every later
//   request is real HTTP to the server.
// - Time: a client renews at `rfa`, or `lead` before `exp` if earlier, less its jitter,
//   never before half-life (client.ts). Instead of waiting minutes for that, the clients'
//   clock (`now`, one of the SDK's options) jumps forward by the same amount for all of
//   them right after sign-in, so that the first renewal is due 20 s later. The SDK's own
//   deadline timers (they re-read the clock at least every 15 s) then fire each client's
//   renewal at its own time, jitter included; nothing else is changed.
// - Load driver: the SDK's requests go through a pool of --connections keep-alive
//   connections (default 64): a request waits for a free one, and that wait counts in its
//   latency and against the SDK's 10 s request timeout, as a wait in the server's accept
//   queue would for real devices. Ten thousand sockets opened in the same millisecond
//   from one process would measure this machine's TCP backlog, not prolong.
// Times are taken in the driver: "sent" is when the SDK called fetch, "answered" when the
// whole answer was read.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { benchOptions } from "./lib/args.mjs";
import { freePort } from "./lib/refresh-load.mjs";
import { clearProgress, fmt, printTable, progress, writeResults } from "./lib/report.mjs";
import { metricValues, percentile, startProlong, stopEverythingNow } from "./lib/servers.mjs";

const options = benchOptions({
  sessions: { type: "number", default: 10_000, quick: 1_000, integer: true, min: 1, max: 1_000_000 },
  connections: { type: "number", default: 64, integer: true, min: 1, max: 4096 },
  shortTtl: { type: "number", default: 120, integer: true, min: 1, max: 86_400 },
});
const SESSIONS = options.sessions;
const USERS = Math.max(1, Math.floor(SESSIONS / 10));
const CONNECTIONS = options.connections;
const SHORT_TTL = options.shortTtl;
/** Seconds from sign-in to the first renewal due, once the clients' clock has jumped. */
const LEAD_IN = 20;
/** How long after the last renewal due the bench waits for stragglers (retries). */
const SETTLE_SECONDS = 60;
const BUCKET_MS = 100;
// The SDK's defaults (client.ts), used only to choose how far the clock jumps.
const SDK_LEAD = 30;
const SDK_JITTER = 10;

/** @typedef {{ ttl: number, jitter: number | undefined, profile: string, jitterName: string }} Setup */
/** @typedef {{ exp: number, iat: number, rfa: number }} Claims */
/**
 * One request of the driver: which client, when the SDK asked, when it went on the wire,
 * when its answer was read (performance.now() ms), and its status or what went wrong.
 * @typedef {{ client: number, asked: number, sent: number, answered: number, status: number,
 *   error: string | null }} DriverRecord
 */

/** @type {Setup[]} */
const SETUPS = [
  { ttl: 300, jitter: undefined },
  { ttl: 300, jitter: 0 },
  { ttl: SHORT_TTL, jitter: undefined },
  { ttl: SHORT_TTL, jitter: 0 },
].map((s) => ({
  ...s,
  profile: s.ttl === 300 ? "300 s tokens (default)" : `${s.ttl} s tokens`,
  jitterName: s.jitter === undefined ? `jitter ${SDK_JITTER} s (default)` : `jitter ${s.jitter}`,
}));

const dir = mkdtempSync(join(tmpdir(), "prolong-bench-storm-"));
const cleanUp = () => {
  stopEverythingNow();
  rmSync(dir, { recursive: true, force: true });
};
// Bounded whatever happens: a stuck server never keeps the bench alive.
const budgetMs = 600_000 + SETUPS.length * (SESSIONS * 20 + (LEAD_IN + SDK_JITTER + SETTLE_SECONDS) * 1000);
setTimeout(() => {
  clearProgress();
  console.error(`\nbench: still running after ${Math.round(budgetMs / 1000)} s; stopping`);
  cleanUp();
  process.exit(1);
}, budgetMs).unref();
process.once("SIGINT", () => {
  clearProgress();
  console.error("\nbench: interrupted; stopping every process it started");
  cleanUp();
  process.exit(130);
});

const { SessionEngine, defaultPolicy } = await import("@prolong/core");
const { openSqliteStore } = await import("@prolong/store-sqlite");
const { createSessionClient, memoryStorage } = await import("@prolong/client");

const sleep = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms));
/** @type {(token: string) => Claims} */
const claimsOf = (token) => JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString());

/**
 * Native sessions made with the server's engine at one frozen instant; returns, for each,
 * the token answer the login endpoint would have sent (RFC 6749 §5.1, docs/protocol.md).
 * @param {string} path
 * @param {string} issuer
 * @param {number} ttl
 */
async function seedSessions(path, issuer, ttl) {
  const policy = defaultPolicy();
  const native = policy.profiles.native;
  if (!native) throw new Error("the default policy has no native profile");
  native.accessTokenTtl = ttl;
  const store = openSqliteStore({ path });
  const issuedAt = Date.now();
  try {
    const engine = await SessionEngine.create({ store, issuer, policy, clock: { now: () => issuedAt } });
    const answers = [];
    for (let i = 0; i < SESSIONS; i++) {
      if (i % 500 === 0) progress(`seeding ${ttl} s sessions: ${fmt(i)}/${fmt(SESSIONS)}`, i % 5000 === 0);
      const tokens = await engine.startSessionForSubject({
        subjectId: `storm-user-${i % USERS}`,
        clientId: "native",
      });
      answers.push({
        access_token: tokens.accessToken,
        token_type: "Bearer",
        expires_in: tokens.expiresIn,
        session_id: tokens.sessionId,
        refresh_token: tokens.refreshToken,
      });
    }
    return answers;
  } finally {
    await store.close();
  }
}

/**
 * The load driver: `send` is a fetch that waits for one of `size` slots (giving up if the
 * caller's signal aborts meanwhile), reads the whole answer, and records each request.
 * @param {number} size
 */
function createDriver(size) {
  let busy = 0;
  /** @type {{ go: () => void }[]} */
  const waiting = [];
  /** @type {DriverRecord[]} */
  const records = [];
  const release = () => {
    busy--;
    const next = waiting.shift();
    if (next) next.go();
  };
  const acquire = (/** @type {AbortSignal | null | undefined} */ signal) =>
    /** @type {Promise<void>} */ (
      new Promise((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        if (busy < size) {
          busy++;
          return resolve();
        }
        const entry = {
          go: () => {
            signal?.removeEventListener("abort", onAbort);
            busy++;
            resolve();
          },
        };
        const onAbort = () => {
          const at = waiting.indexOf(entry);
          if (at >= 0) waiting.splice(at, 1);
          reject(signal?.reason);
        };
        signal?.addEventListener("abort", onAbort, { once: true });
        waiting.push(entry);
      })
    );
  /**
   * @param {string} url
   * @param {RequestInit | undefined} init
   * @param {number} client
   */
  async function send(url, init, client) {
    /** @type {DriverRecord} */
    const record = { client, asked: performance.now(), sent: 0, answered: 0, status: 0, error: null };
    records.push(record);
    try {
      await acquire(init?.signal);
    } catch (error) {
      record.answered = performance.now();
      record.error = "timed out waiting for a connection";
      throw error;
    }
    record.sent = performance.now();
    try {
      const response = await fetch(url, init);
      const text = await response.text();
      record.answered = performance.now();
      record.status = response.status;
      return new Response(text, { status: response.status, headers: response.headers });
    } catch (error) {
      record.answered = performance.now();
      record.error =
        /** @type {{ name?: string } | null} */ (error)?.name === "AbortError"
          ? "timed out on the wire"
          : "network error";
      throw error;
    } finally {
      release();
    }
  }
  return { send, records, inFlight: () => busy, queued: () => waiting.length };
}

/**
 * One setup: seed, serve, sign every client in, jump their clock, let them renew, count.
 * @param {Setup} setup
 * @param {number} index
 */
async function runSetup(setup, index) {
  const label = `${setup.profile}, ${setup.jitterName}`;
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const path = join(dir, `storm-${index}.db`);
  const seedStart = performance.now();
  const answers = await seedSessions(path, issuer, setup.ttl);
  const seedSeconds = (performance.now() - seedStart) / 1000;
  const configFile = join(dir, `storm-${index}.json`);
  // Nothing but the token lifetime: every rate limit keeps its default.
  writeFileSync(
    configFile,
    JSON.stringify(setup.ttl === 300 ? {} : { profiles: { native: { accessTokenTtl: setup.ttl } } }),
  );
  const server = await startProlong({
    store: `sqlite:${path}`,
    issuer,
    port,
    args: ["--config", configFile],
  });
  /** @type {import("@prolong/client").SessionClient[]} */
  const clients = [];
  try {
    const metadataUrl = `${issuer}/.well-known/oauth-authorization-server`;
    const metadataResponse = await fetch(metadataUrl, { signal: AbortSignal.timeout(10_000) });
    const metadataText = await metadataResponse.text();
    const metadata = JSON.parse(metadataText);
    const outcomesBefore = await metricValues(server.url, "prolong_refreshes_total");

    const driver = createDriver(CONNECTIONS);
    let shift = 0;
    const now = () => Date.now() + shift;
    const json = (/** @type {string} */ text) =>
      new Response(text, { status: 200, headers: { "content-type": "application/json" } });
    const signedIn = new Array(SESSIONS).fill(0);
    const firstRenewal = new Array(SESSIONS).fill(0);
    /** @type {Record<string, number>} */
    const signedOut = {};
    let renewed = 0;
    let ended = 0;
    let errors = 0;
    for (let i = 0; i < SESSIONS; i++) {
      const client = createSessionClient({
        issuer,
        profile: "native",
        storage: memoryStorage(),
        now,
        ...(setup.jitter === undefined ? {} : { jitter: setup.jitter }),
        fetch: (input, init) => {
          const url = String(input);
          if (url === metadataUrl) return Promise.resolve(json(metadataText));
          if (url === metadata.login_endpoint) return Promise.resolve(json(JSON.stringify(answers[i])));
          return driver.send(url, init, i);
        },
      });
      client.on("authorized", () => {
        signedIn[i] = performance.now();
      });
      client.on("refreshed", () => {
        if (firstRenewal[i] === 0) {
          firstRenewal[i] = performance.now();
          renewed++;
        }
      });
      client.on("signedOut", ({ reason }) => {
        signedOut[reason] = (signedOut[reason] ?? 0) + 1;
        ended++;
      });
      client.on("error", () => {
        errors++;
      });
      clients.push(client);
    }
    progress(`${label}: signing ${fmt(SESSIONS)} clients in`, true);
    await Promise.all(clients.map((c) => c.signIn({ username: "storm", password: "answered from memory" })));
    const signInFirst = Math.min(...signedIn);
    const signInLast = Math.max(...signedIn);

    // When the SDK will renew (client.ts): at rfa, or `lead` before exp if earlier, less
    // the client's jitter, never before half-life. The earliest any client can be due
    // decides the jump.
    const claims = claimsOf(answers[0]?.access_token ?? "");
    const jitterMax = setup.jitter ?? SDK_JITTER;
    const renewAt = (/** @type {number} */ jitter) =>
      Math.max(
        Math.min(claims.exp - SDK_LEAD, claims.rfa) - jitter,
        claims.iat + (claims.exp - claims.iat) / 2,
      ) - claims.iat;
    const due = /** @type {const} */ ([renewAt(jitterMax), renewAt(0)]);
    shift = Math.max(0, (due[0] - LEAD_IN) * 1000);
    const shiftedAt = performance.now();
    const deadline = shiftedAt + (LEAD_IN + (due[1] - due[0]) + SETTLE_SECONDS) * 1000;

    for (;;) {
      const asked = driver.records.length;
      const limited = driver.records.filter((r) => r.status === 429).length;
      progress(
        `${label}: ${fmt(renewed)}/${fmt(SESSIONS)} renewed, ${fmt(asked)} requests, ${driver.inFlight()} on the wire, ${fmt(driver.queued())} waiting, ${limited} × 429, ${ended} signed out`,
        false,
      );
      if (renewed + ended >= SESSIONS && driver.inFlight() === 0) break;
      if (performance.now() >= deadline) break;
      await sleep(250);
    }
    const waitedSeconds = (performance.now() - shiftedAt) / 1000;
    for (const client of clients) client.stop();
    const outcomesAfter = await metricValues(server.url, "prolong_refreshes_total");
    /** @type {Record<string, number>} */
    const outcomes = {};
    for (const [labels, value] of Object.entries(outcomesAfter)) {
      const name = /outcome="([^"]+)"/.exec(labels)?.[1] ?? labels;
      const delta = value - (outcomesBefore[labels] ?? 0);
      if (delta > 0) outcomes[name] = delta;
    }
    progress(`${label}: done`, true);
    return summarise({
      setup,
      label,
      records: driver.records,
      renewed,
      signedOut,
      errors,
      outcomes,
      seedSeconds,
      firstRenewal,
      signInSpreadMs: signInLast - signInFirst,
      // Seconds since the tokens were issued, on the clients' (jumped) clock.
      clientSeconds: (/** @type {number} */ t) => (t - signInFirst + shift) / 1000,
      due,
      shiftSeconds: shift / 1000,
      waitedSeconds,
      claims,
    });
  } finally {
    for (const client of clients) client.stop();
    await server.stop();
  }
}

/**
 * The figures of one setup from the driver's records.
 * @param {{ setup: Setup, label: string, records: DriverRecord[], renewed: number,
 *   signedOut: Record<string, number>, errors: number, outcomes: Record<string, number>,
 *   seedSeconds: number, firstRenewal: number[], signInSpreadMs: number,
 *   clientSeconds: (t: number) => number, due: readonly [number, number], shiftSeconds: number,
 *   waitedSeconds: number, claims: Claims }} run
 */
function summarise(run) {
  const { records } = run;
  /** @type {Record<string, number>} */
  const statuses = {};
  /** @type {Record<string, number>} */
  const failures = {};
  for (const r of records) {
    if (r.error) failures[r.error] = (failures[r.error] ?? 0) + 1;
    else statuses[r.status] = (statuses[r.status] ?? 0) + 1;
  }
  const bucketOf = (/** @type {number} */ t) => Math.floor((run.clientSeconds(t) * 1000) / BUCKET_MS);
  const count = (/** @type {number[]} */ times) => {
    /** @type {Map<number, number>} */
    const buckets = new Map();
    for (const t of times) buckets.set(bucketOf(t), (buckets.get(bucketOf(t)) ?? 0) + 1);
    return buckets;
  };
  const sent = count(records.map((r) => r.asked));
  const served = count(records.filter((r) => r.status === 200).map((r) => r.answered));
  const keys = [...sent.keys(), ...served.keys()];
  const first = Math.min(...keys);
  const last = Math.max(...keys);
  const timeline = [];
  for (let b = first; b <= last; b++)
    timeline.push({ at: (b * BUCKET_MS) / 1000, sent: sent.get(b) ?? 0, answered: served.get(b) ?? 0 });
  const ok = records.filter((r) => r.status === 200);
  const latency = ok.map((r) => r.answered - r.asked).sort((a, b) => a - b);
  const wire = ok.map((r) => r.answered - r.sent).sort((a, b) => a - b);
  /** @type {Map<number, number>} */
  const perClient = new Map();
  for (const r of records) perClient.set(r.client, (perClient.get(r.client) ?? 0) + 1);
  // Per client, from its first request to its first new token: retries included.
  /** @type {Map<number, number>} */
  const firstAsked = new Map();
  for (const r of records) if (!firstAsked.has(r.client)) firstAsked.set(r.client, r.asked);
  const renewal = [...firstAsked]
    .flatMap(([client, asked]) => {
      const renewedAt = run.firstRenewal[client] ?? 0;
      return renewedAt > 0 ? [renewedAt - asked] : [];
    })
    .sort((a, b) => a - b);
  const askedTimes = records.map((r) => r.asked);
  const answeredTimes = ok.map((r) => r.answered);
  return {
    profile: run.setup.profile,
    accessTokenTtl: run.setup.ttl,
    jitter: run.setup.jitter ?? SDK_JITTER,
    jitterName: run.setup.jitterName,
    label: run.label,
    sessions: SESSIONS,
    connections: CONNECTIONS,
    requests: records.length,
    statuses,
    failures,
    rateLimited: statuses[429] ?? 0,
    renewed: run.renewed,
    signedOut: run.signedOut,
    signedOutTotal: Object.values(run.signedOut).reduce((a, b) => a + b, 0),
    clientErrors: run.errors,
    clientsRetrying: [...perClient.values()].filter((n) => n > 1).length,
    serverOutcomes: run.outcomes,
    peakSentPer100ms: Math.max(0, ...sent.values()),
    peakAnsweredPer100ms: Math.max(0, ...served.values()),
    sendSpreadSeconds: (Math.max(...askedTimes) - Math.min(...askedTimes)) / 1000,
    drainSeconds: answeredTimes.length ? (Math.max(...answeredTimes) - Math.min(...askedTimes)) / 1000 : null,
    latencyMs: { p50: percentile(latency, 50), p99: percentile(latency, 99), max: latency.at(-1) ?? null },
    renewalMs: { p50: percentile(renewal, 50), p99: percentile(renewal, 99), max: renewal.at(-1) ?? null },
    wireMs: { p50: percentile(wire, 50), p99: percentile(wire, 99), max: wire.at(-1) ?? null },
    dueWindowSeconds: run.due,
    token: {
      ttl: run.claims.exp - run.claims.iat,
      rfa: run.claims.rfa - run.claims.iat,
      halfLife: (run.claims.exp - run.claims.iat) / 2,
    },
    clockJumpSeconds: run.shiftSeconds,
    signInSpreadMs: run.signInSpreadMs,
    seedSeconds: run.seedSeconds,
    waitedSeconds: run.waitedSeconds,
    timeline,
  };
}

try {
  /** @type {ReturnType<typeof summarise>[]} */
  const rows = [];
  for (const [index, setup] of SETUPS.entries()) rows.push(await runSetup(setup, index));
  clearProgress();

  const ms = (/** @type {number | null} */ n) => (n === null || Number.isNaN(n) ? "-" : n.toFixed(0));
  console.log(
    `\n${fmt(SESSIONS)} native sessions, tokens issued in one instant, one SessionClient each, ${CONNECTIONS} connections to one prolong serve (SQLite, default rate limits)`,
  );
  printTable(
    [
      "setup",
      "signed in over ms",
      "due (s after issue)",
      "sent over s",
      "peak sent /100 ms",
      "peak answered /100 ms",
      "429",
      "other failures",
      "p50 ms",
      "p99 ms",
      "max ms",
      "renewal p99 ms",
      "retrying clients",
      "signed out",
    ],
    rows.map((r) => {
      const other =
        Object.entries(r.statuses)
          .filter(([code]) => code !== "200" && code !== "429")
          .reduce((sum, [, n]) => sum + n, 0) + Object.values(r.failures).reduce((sum, n) => sum + n, 0);
      return [
        r.label,
        r.signInSpreadMs.toFixed(0),
        `${r.dueWindowSeconds[0]}–${r.dueWindowSeconds[1]}`,
        r.sendSpreadSeconds.toFixed(2),
        `${fmt(r.peakSentPer100ms)} (${fmt(r.peakSentPer100ms * 10)}/s)`,
        `${fmt(r.peakAnsweredPer100ms)} (${fmt(r.peakAnsweredPer100ms * 10)}/s)`,
        fmt(r.rateLimited),
        fmt(other),
        ms(r.latencyMs.p50),
        ms(r.latencyMs.p99),
        ms(r.latencyMs.max),
        ms(r.renewalMs.p99),
        fmt(r.clientsRetrying),
        r.signedOutTotal === 0 ? "none" : JSON.stringify(r.signedOut),
      ];
    }),
  );
  for (const r of rows) {
    const bad = {
      ...r.failures,
      ...Object.fromEntries(Object.entries(r.statuses).filter(([c]) => c !== "200")),
    };
    if (Object.keys(bad).length > 0) console.log(`${r.label}: ${JSON.stringify(bad)}`);
    if (r.renewed + r.signedOutTotal < r.sessions)
      console.log(
        `${r.label}: ${fmt(r.sessions - r.renewed - r.signedOutTotal)} clients had not renewed when the bench stopped waiting`,
      );
  }
  console.log(
    "due: when the SDK renews, in seconds after the tokens were issued, for jitter draws of its maximum and 0 (client.ts: rfa, or `lead` (30 s) before exp if earlier, less the jitter, never before half-life). p50/p99/max: per successful request, from the SDK's fetch call to the whole answer read, the wait for one of the connections included. renewal: per client, from its first request to its new token, retries included.",
  );
  for (const profile of new Set(rows.map((r) => r.profile))) {
    const [on, off] = [
      rows.find((r) => r.profile === profile && r.jitter > 0),
      rows.find((r) => r.profile === profile && r.jitter === 0),
    ];
    if (!on || !off) continue;
    const t = on.token;
    if (on.dueWindowSeconds[0] === on.dueWindowSeconds[1])
      console.log(
        `${profile}: the jitter cannot spread these renewals: every client is due at ${on.dueWindowSeconds[0]} s after issue (rfa ${t.rfa} s) whatever its jitter: peak ${fmt(on.peakSentPer100ms)} with jitter against ${fmt(off.peakSentPer100ms)} without.`,
      );
    else
      console.log(
        `${profile}: with jitter the renewals spread over ${on.sendSpreadSeconds.toFixed(1)} s (peak ${fmt(on.peakSentPer100ms)} per 100 ms), without over ${off.sendSpreadSeconds.toFixed(1)} s (peak ${fmt(off.peakSentPer100ms)}).`,
      );
  }
  console.log(
    `node ${process.version}, ${availableParallelism()} cores shared by the server and the ${fmt(SESSIONS)} clients of this process.`,
  );

  const timelinePlots = [...new Set(rows.map((r) => r.accessTokenTtl))].map((ttl) => {
    const series = rows.filter((r) => r.accessTokenTtl === ttl);
    const buckets = new Set(series.flatMap((r) => r.timeline.map((b) => b.at)));
    const ordered = [...buckets].sort((a, b) => a - b);
    return {
      id: `refresh-storm-timeline-${ttl}s`,
      title: `Refresh requests sent per 100 ms, ${series[0]?.profile}, ${fmt(SESSIONS)} sessions`,
      unit: "requests per 100 ms",
      note: "label: seconds after the tokens were issued, on the clients' clock",
      bars: series.flatMap((r) =>
        ordered.map((at) => ({
          label: `${at.toFixed(1)} s`,
          value: r.timeline.find((b) => b.at === at)?.sent ?? 0,
          group: r.jitterName,
        })),
      ),
    };
  });
  writeResults("refresh-storm", {
    bench: "refresh-storm",
    ranAt: new Date().toISOString(),
    machine: { cpus: availableParallelism(), cpu: cpus()[0]?.model, node: process.version },
    options: { sessions: SESSIONS, users: USERS, connections: CONNECTIONS, leadInSeconds: LEAD_IN },
    rows,
    plots: [
      {
        id: "refresh-storm-peak",
        title: `Refresh storm: peak refresh requests per second (busiest 100 ms × 10), ${fmt(SESSIONS)} sessions`,
        unit: "req/s",
        note: "tokens issued in one instant; SDK jitter at its default and off",
        bars: rows.map((r) => ({ label: r.profile, value: r.peakSentPer100ms * 10, group: r.jitterName })),
      },
      {
        id: "refresh-storm-p99",
        title: `Refresh storm: p99 refresh latency seen by the clients, ${fmt(SESSIONS)} sessions`,
        unit: "ms",
        note: `from the SDK's fetch call to the answer, waiting for one of ${CONNECTIONS} connections included`,
        bars: rows.map((r) => ({
          label: r.profile,
          value: Math.round(r.latencyMs.p99),
          group: r.jitterName,
        })),
      },
      ...timelinePlots,
    ],
  });
} catch (error) {
  clearProgress();
  console.error(`bench: ${/** @type {Error} */ (error).stack ?? error}`);
  process.exitCode = 1;
} finally {
  cleanUp();
}
process.exit();

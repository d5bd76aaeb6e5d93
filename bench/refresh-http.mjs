// Native refreshes per second through the real server over loopback HTTP, against a bare
// node:http server answering the same request (the machine's ceiling with this load
// generator) and a minimal Fastify route that parses the same form and answers a fixed
// token-shaped JSON (the ceiling of the framework the server is built on), the
// in-process cost of one engine.refresh split by phase, and the server's CPU per refresh
// beside the sum of its parts' CPU (sign, rotate, codec, the bare server's HTTP floor).
// Run after `npm run build`:
//   node bench/refresh-http.mjs [--duration 10] [--rounds 2] [--warmup 2] [--connections 16]
//                               [--sessions 10000] [--users 1000] [--fastify-work 0]
// --fastify-work N has the Fastify reference spin N µs per request (say, engine.refresh's
// in-process cost): what a route doing that much work behind Fastify could reach here.
// Prints the tables and writes bench/results/refresh-http.json. Figures are ratios within one
// run on one machine; nothing here is asserted, and it never runs inside `npm test`.
//
// Processes: this script seeds the sessions and prints; `prolong serve`, the bare server
// and the Fastify one each run in a process of their own, and so does each load generator
// (autocannon), so none shares an event loop with what it measures. Everything binds to
// 127.0.0.1 and stops by itself.
import { fork } from "node:child_process";
import { copyFileSync, existsSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { benchOptions } from "./lib/args.mjs";
import { sendToParent } from "./lib/parent-messages.mjs";
import {
  benchScratch,
  cpuSeconds,
  freePort,
  onceMessage,
  seedNativeSessions,
  spawnServer,
  startBareServer,
  startLoad,
  stopServer,
  UNLIMITED_RATE_LIMITS,
} from "./lib/refresh-load.mjs";
import { benchFailed, clearProgress, fmt, progress, writeResults } from "./lib/report.mjs";

const SELF = fileURLToPath(import.meta.url);

/** @typedef {import("./lib/load-slices.mjs").RefreshFigures} RefreshFigures */
/** @typedef {"bare" | "fastify" | "prolong"} Target */
/** @typedef {ReturnType<typeof summarise>} Summary */
/** @typedef {{ requestsPerSecond: number, p50: number, p99: number }} Ratio */
/**
 * @typedef {{ bare: Summary, fastify: Summary, prolong: Summary & { outcomes: Record<string, number> },
 *   ratio: Ratio, ratioToFastify: Ratio }} HttpFigures
 */
/** @typedef {Awaited<ReturnType<typeof measureInProcess>>} InProcessFigures */

// One command line for both roles: this bench (`main`) and the Fastify reference it forks.
const OPTIONS = benchOptions({
  role: { type: "string", default: "main", choices: ["main", "fastify"] },
  duration: { type: "number", default: 10, quick: 3, min: 0.5, max: 3600 },
  warmup: { type: "number", default: 2, quick: 1, min: 0, max: 600 },
  rounds: { type: "number", default: 2, quick: 1, integer: true, min: 1, max: 100 },
  connections: { type: "number", default: 16, integer: true, min: 1, max: 1024 },
  fastifyWork: { type: "number", default: 0, min: 0, max: 1_000_000 },
  sessions: { type: "number", default: 10_000, quick: 2_000, integer: true, min: 1, max: 2_000_000 },
  users: { type: "number", default: 1_000, quick: 200, integer: true, min: 1, max: 1_000_000 },
});

// ---- child: the Fastify reference server ------------------------------------------

/**
 * The framework's ceiling: the Fastify the server runs (resolved from its package), with
 * no logger, one form parser as the server's (URLSearchParams, each name once) and one
 * route that answers a fixed body shaped like a token response, with the same
 * no-store headers. No hooks, no engine, no store: what any route of ours costs at least.
 * @param {number} workMicros
 */
async function runFastifyServer(workMicros) {
  const fromServer = createRequire(
    fileURLToPath(new URL("../packages/server/package.json", import.meta.url)),
  );
  /** @type {typeof import("fastify")} */
  const { default: Fastify } = await import(pathToFileURL(fromServer.resolve("fastify")).href);
  const app = Fastify({ logger: false });
  app.addContentTypeParser(
    "application/x-www-form-urlencoded",
    { parseAs: "string" },
    (_request, body, done) => {
      /** @type {Record<string, string>} */
      const out = {};
      for (const [key, value] of new URLSearchParams(/** @type {string} */ (body))) {
        if (Object.hasOwn(out, key)) return done(Object.assign(new Error("repeated"), { statusCode: 400 }));
        out[key] = value;
      }
      done(null, out);
    },
  );
  // As long as a real answer (~760 bytes): an EdDSA access token, a refresh token.
  const answer = {
    access_token: "a".repeat(600),
    token_type: "Bearer",
    expires_in: 300,
    session_id: "s".repeat(22),
    refresh_token: "r".repeat(91),
  };
  app.post("/oauth/token", async (request, reply) => {
    const form = /** @type {Record<string, string> | undefined} */ (request.body);
    if (typeof form?.refresh_token !== "string") return reply.code(400).send({ error: "invalid_request" });
    if (workMicros > 0) {
      const until = process.hrtime.bigint() + BigInt(Math.round(workMicros * 1000));
      while (process.hrtime.bigint() < until);
    }
    reply.header("cache-control", "no-store").header("pragma", "no-cache");
    return answer;
  });
  await app.listen({ port: 0, host: "127.0.0.1" });
  sendToParent({ port: /** @type {import("node:net").AddressInfo} */ (app.server.address()).port });
  process.on("disconnect", () => process.exit(0));
}

// ---- the bench itself -------------------------------------------------------------

async function main() {
  const DURATION = OPTIONS.duration;
  const WARMUP = OPTIONS.warmup;
  const ROUNDS = OPTIONS.rounds;
  const CONNECTIONS = OPTIONS.connections;
  const FASTIFY_WORK = OPTIONS.fastifyWork;
  const SESSIONS = OPTIONS.sessions;
  const USERS = Math.min(OPTIONS.users, SESSIONS);
  const { children, dir, stopAll } = benchScratch(
    "http",
    120_000 + 2 * (WARMUP + DURATION) * 1000 + SESSIONS * 2,
  );

  try {
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    const served = join(dir, "bench.db");
    const measuredInProcess = join(dir, "in-process.db");

    const seedStart = process.hrtime.bigint();
    const tokens = await seedNativeSessions(served, issuer, USERS, SESSIONS);
    const seedSeconds = Number(process.hrtime.bigint() - seedStart) / 1e9;
    clearProgress();
    console.log(
      `seeded ${fmt(USERS)} users and ${fmt(SESSIONS)} native sessions in-process in ${seedSeconds.toFixed(1)} s (${fmt(SESSIONS / seedSeconds)} sessions/s)`,
    );
    // The in-process phases below get the same sessions, in a copy the server never touches.
    for (const suffix of ["", "-wal", "-shm"])
      if (existsSync(served + suffix)) copyFileSync(served + suffix, measuredInProcess + suffix);

    const server = await startProlong({ dir, port, issuer, store: served }, UNLIMITED_RATE_LIMITS, children);
    console.log(
      `rate limits in the server's config: ${server.rateLimits ? JSON.stringify(server.rateLimits) : "none (its defaults apply)"}`,
    );

    const bare = await startBareServer(children);
    const fastify = await startReference("fastify", children, ["--fastify-work", String(FASTIFY_WORK)]);
    const loads = {
      bare: await startLoad("bare node:http", { url: bare.url, tokens, chain: false }, CONNECTIONS, children),
      fastify: await startLoad(
        "fastify, form in, fixed JSON out",
        { url: fastify.url, tokens, chain: false },
        CONNECTIONS,
        children,
      ),
      prolong: await startLoad(
        "prolong refresh",
        { url: server.url, tokens, chain: true },
        CONNECTIONS,
        children,
      ),
    };
    // Alternating slices, so a burst of load from elsewhere on the machine hits all alike.
    const before = await refreshOutcomes(server.url);
    if (WARMUP > 0) for (const load of Object.values(loads)) await load.run("warm-up", WARMUP);
    const slice = DURATION / ROUNDS;
    /** @type {Record<Target, RefreshFigures[]>} */
    const rounds = { bare: [], fastify: [], prolong: [] };
    /** @type {Record<Target, number | undefined>} */
    const serverPids = { bare: bare.child.pid, fastify: fastify.child.pid, prolong: server.child.pid };
    /** @type {Target[]} */
    const order = ["bare", "fastify", "prolong"];
    for (let round = 1; round <= ROUNDS; round++) {
      for (const name of order) {
        const load = loads[name];
        const cpuBefore = cpuSeconds(serverPids[name]);
        const figures = await load.run(`round ${round}/${ROUNDS}`, slice);
        const cpuAfter = cpuSeconds(serverPids[name]);
        figures.serverCpuMicrosPerRequest =
          cpuBefore === null || cpuAfter === null || figures.requests === 0
            ? null
            : ((cpuAfter - cpuBefore) * 1e6) / figures.requests;
        rounds[name].push(figures);
      }
    }
    const after = await refreshOutcomes(server.url);
    /** @type {Record<string, number>} */
    const outcomes = {};
    for (const [outcome, n] of Object.entries(after)) {
      const delta = n - (before[outcome] ?? 0);
      if (delta > 0) outcomes[outcome] = delta;
    }
    for (const load of Object.values(loads)) load.child.disconnect();
    bare.child.disconnect();
    fastify.child.disconnect();
    await stopServer(server.child);
    clearProgress();

    const summaries = {
      bare: summarise(rounds.bare),
      fastify: summarise(rounds.fastify),
      prolong: { ...summarise(rounds.prolong), outcomes },
    };
    /** @type {(reference: Summary) => Ratio} */
    const ratioTo = (reference) => ({
      requestsPerSecond: summaries.prolong.best.requestsPerSecond / reference.best.requestsPerSecond,
      p50: summaries.prolong.best.p50 / reference.best.p50,
      p99: summaries.prolong.best.p99 / reference.best.p99,
    });
    /** @type {HttpFigures} */
    const http = {
      ...summaries,
      ratio: ratioTo(summaries.bare),
      ratioToFastify: ratioTo(summaries.fastify),
    };
    printHttpTable(http, {
      connections: CONNECTIONS,
      slice,
      rounds: ROUNDS,
      warmup: WARMUP,
      fastifyWork: FASTIFY_WORK,
    });

    const inProcess = await measureInProcess(measuredInProcess, issuer, tokens, server.rateLimits);
    printPhaseTable(inProcess);
    const cost = costOfParts(http, inProcess);
    printCostTable(cost);

    writeResults("refresh-http", {
      node: process.version,
      cpus: cpus().length,
      cpu: cpus()[0]?.model,
      options: {
        durationSeconds: DURATION,
        rounds: ROUNDS,
        warmupSeconds: WARMUP,
        connections: CONNECTIONS,
        fastifyWorkMicros: FASTIFY_WORK,
        sessions: SESSIONS,
        users: USERS,
      },
      rateLimits: server.rateLimits,
      seeding: { seconds: seedSeconds, sessionsPerSecond: SESSIONS / seedSeconds },
      http,
      inProcess,
      cost,
    });
  } catch (error) {
    benchFailed(error);
  } finally {
    stopAll();
  }
  process.exit();
}

/**
 * The best round by requests per second (interference only slows a round down), and totals.
 * @param {RefreshFigures[]} rounds at least one
 */
function summarise(rounds) {
  const best = rounds.reduce((a, b) => (b.requestsPerSecond > a.requestsPerSecond ? b : a));
  /** @type {Record<string, number>} */
  const statuses = {};
  for (const r of rounds)
    for (const [code, n] of Object.entries(r.statuses)) statuses[code] = (statuses[code] ?? 0) + n;
  /** @param {"requests" | "non200" | "connectionErrors" | "timeouts" | "brokenChains"} key */
  const total = (key) => rounds.reduce((sum, r) => sum + r[key], 0);
  return {
    best,
    rounds,
    totals: {
      requests: total("requests"),
      statuses,
      non200: total("non200"),
      connectionErrors: total("connectionErrors"),
      timeouts: total("timeouts"),
      brokenChains: total("brokenChains"),
    },
  };
}

// ---- processes --------------------------------------------------------------------

/**
 * Starts `prolong serve` on the seeded SQLite file with a config that raises the rate
 * limits. The config schema may change under this script: when the server names
 * settings it does not know, the refusal is printed and the start retried without them
 * (the server's defaults then apply, and any 429 shows in the table). Any other refusal
 * stops the bench with the server's own message.
 * @param {{ dir: string, port: number, issuer: string, store: string }} where
 * @param {Record<string, { max: number, windowSeconds: number }>} wantedLimits
 * @param {import("./lib/refresh-load.mjs").Children} children
 */
async function startProlong(where, wantedLimits, children) {
  /** @type {Record<string, { max: number, windowSeconds: number }> | null} */
  let rateLimits = structuredClone(wantedLimits);
  for (let attempt = 1; ; attempt++) {
    const configFile = join(where.dir, "config.json");
    writeFileSync(configFile, JSON.stringify(rateLimits ? { rateLimits } : {}));
    try {
      return { ...(await spawnServer(where, configFile, children)), rateLimits };
    } catch (error) {
      const { output, message } = /** @type {Error & { output?: string }} */ (error);
      const refusal = output?.trim() || message;
      console.error(`prolong refused to start (attempt ${attempt}):\n  ${refusal.replace(/\n/g, "\n  ")}`);
      const unknown = [...refusal.matchAll(/([\w.]+(?:, [\w.]+)*): unknown setting/g)].flatMap(
        (m) => m[1]?.split(", ") ?? [],
      );
      const ours = unknown.filter((path) => path === "rateLimits" || path.startsWith("rateLimits."));
      if (attempt >= 3 || ours.length === 0)
        throw new Error("the server did not start; its message is above");
      for (const path of ours) {
        if (path === "rateLimits") rateLimits = null;
        else if (rateLimits) delete rateLimits[path.slice("rateLimits.".length)];
      }
      if (rateLimits && Object.keys(rateLimits).length === 0) rateLimits = null;
      console.error(`  retrying without ${ours.join(", ")}`);
    }
  }
}

/**
 * A reference server ("fastify"), in a process of its own.
 * @param {"fastify"} role
 * @param {import("./lib/refresh-load.mjs").Children} children
 * @param {readonly string[]} [args]
 */
async function startReference(role, children, args = []) {
  const child = fork(SELF, ["--role", role, ...args], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  children.add(child);
  /** @type {{ port: number }} */
  const { port } = await onceMessage(child, 10_000, `${role} server did not start`);
  return { url: `http://127.0.0.1:${port}`, child };
}

/**
 * `prolong_refreshes_total` by outcome, from the server's own /metrics.
 * @param {string} url
 */
async function refreshOutcomes(url) {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  /** @type {Record<string, number>} */
  const out = {};
  for (const m of text.matchAll(/^prolong_refreshes_total\{outcome="([^"]+)"\} (\d+)/gm))
    out[m[1] ?? ""] = Number(m[2]);
  return out;
}

// ---- in-process phases ----------------------------------------------------------------

/**
 * One refresh split into the primitives engine.refresh calls, in its order, each timed
 * with hrtime; then engine.refresh itself, end to end, on the same sessions. Both advance
 * the same token chains, so every call is a real rotation.
 * The rotation gets the per-session grant budget the server's config gives (the server
 * passes it to every rotate), so the store call timed here is the one the server makes.
 * @param {string} path
 * @param {string} issuer
 * @param {readonly string[]} seeded
 * @param {Record<string, { max: number, windowSeconds: number }> | null} rateLimits the server's
 */
async function measureInProcess(path, issuer, seeded, rateLimits) {
  const { SessionEngine, RefreshTokenCodec, signAccessToken, profileOf, randomId, seconds } = await import(
    "@prolong/core"
  );
  const { openSqliteStore } = await import("@prolong/store-sqlite");
  const store = openSqliteStore({ path });
  const engine = await SessionEngine.create({ store, issuer });
  // The engine keeps its codec private; the same secret from the store gives the same codec.
  const secret = await store.keys.claimSecret("refresh-token-mac", "unused: the engine claimed it first");
  const codec = await RefreshTokenCodec.create(new Uint8Array(Buffer.from(secret, "base64url")));
  const profile = profileOf(engine.policy, "native");
  // Whatever its size, a budget makes the store read and count the session's grants; its
  // size matters only once spent, which these chains never are.
  const perSession = rateLimits?.grantsPerSession ?? UNLIMITED_RATE_LIMITS.grantsPerSession;
  const budget = { max: perSession.max, windowMs: perSession.windowSeconds * 1000 };
  const tokens = [...seeded];
  const sessions = tokens.length;
  if (!codec.open(tokens[0] ?? "")) throw new Error("the rebuilt codec does not open the engine's tokens");

  /**
   * The rotation of one opened token, as the engine's refresh makes it: one store call
   * that settles the refresh and returns the subject.
   * @param {NonNullable<ReturnType<typeof codec.open>>} token
   * @param {ReturnType<typeof codec.next>} successor
   */
  const rotate = async (token, successor) => {
    const outcome = await store.sessions.rotate({
      sessionId: token.sessionId,
      clientId: "native",
      generation: token.generation,
      presentedHash: token.hash,
      successorHash: successor.hash,
      now: Date.now(),
      graceMs: profile.graceWindow * 1000,
      idleTimeoutMs: profile.idleTimeout * 1000,
      budget,
    });
    if (outcome.status !== "rotated") throw new Error(`in-process rotate: ${outcome.status}`);
    return outcome;
  };

  /**
   * The access token the engine signs after a rotation: the same claims, the same key.
   * @param {{ session: import("@prolong/core").SessionRecord, subject: import("@prolong/core").SubjectRecord }} rotated
   */
  const sign = ({ session, subject }) => {
    const iat = seconds(Date.now());
    const exp = iat + profile.accessTokenTtl;
    return signAccessToken(engine.keys.active, {
      ...subject.claims,
      iss: engine.issuer,
      sub: subject.id,
      aud: engine.audience,
      exp,
      iat,
      jti: randomId(),
      client_id: session.clientId,
      sid: session.id,
      ver: subject.tokenVersion,
      auth_time: seconds(session.authTime),
      rfa: iat + Math.floor((exp - iat) * profile.refreshAfterRatio),
    });
  };

  /** The four phases of one refresh, their sum, and engine.refresh end to end. */
  /** @type {Record<"open" | "next" | "rotate" | "sign" | "sum" | "engine", number[]>} */
  const samples = { open: [], next: [], rotate: [], sign: [], sum: [], engine: [] };
  let cursor = 0;
  const nextSession = () => {
    cursor = (cursor + 1) % sessions;
    return cursor;
  };

  /** @param {boolean} record */
  async function byPhase(record) {
    const i = nextSession();
    const t0 = process.hrtime.bigint();
    const token = codec.open(tokens[i] ?? "");
    const t1 = process.hrtime.bigint();
    if (token === null) throw new Error(`in-process: the token of session ${i} does not open`);
    const successor = codec.next(token);
    const t2 = process.hrtime.bigint();
    const rotated = await rotate(token, successor);
    const t3 = process.hrtime.bigint();
    sign(rotated);
    const t4 = process.hrtime.bigint();
    tokens[i] = successor.value;
    if (!record) return;
    const us = (/** @type {bigint} */ a, /** @type {bigint} */ b) => Number(b - a) / 1000;
    samples.open.push(us(t0, t1));
    samples.next.push(us(t1, t2));
    samples.rotate.push(us(t2, t3));
    samples.sign.push(us(t3, t4));
    samples.sum.push(us(t0, t4));
  }

  /** @param {boolean} record */
  async function endToEnd(record) {
    const i = nextSession();
    const t0 = process.hrtime.bigint();
    const set = await engine.refresh({ refreshToken: tokens[i] ?? "", clientId: "native", budget });
    const t1 = process.hrtime.bigint();
    // Each chain presents only its current token, so every answer rotates and carries one.
    if (set.refreshToken === null)
      throw new Error("bench: a refresh of the current token came back without a successor");
    tokens[i] = set.refreshToken;
    if (record) samples.engine.push(Number(t1 - t0) / 1000);
  }

  /**
   * Each part alone in batches of `perBatch` calls, timed by the process's CPU clock over
   * the batch (the unit of the server's figure, and blind to time the thread spent
   * descheduled): the codec's open + next, the budgeted rotate (its tokens derived before
   * the batch), the claims + signature. Lowest batch of `batches` per part, µs per call.
   * @param {number} batches
   * @param {number} perBatch
   */
  async function partsCpuPerCall(batches, perBatch) {
    const cpuNow = () => {
      const { user, system } = process.cpuUsage();
      return user + system;
    };
    const best = {
      codec: Number.POSITIVE_INFINITY,
      rotate: Number.POSITIVE_INFINITY,
      sign: Number.POSITIVE_INFINITY,
    };
    /** @type {{ session: import("@prolong/core").SessionRecord, subject: import("@prolong/core").SubjectRecord } | null} */
    let last = null;
    for (let batch = 0; batch < batches; batch++) {
      progress(`in-process CPU per part: batch ${batch + 1}/${batches}`, true);
      const first = cursor;
      let c0 = cpuNow();
      for (let k = 0; k < perBatch; k++) {
        const token = codec.open(tokens[(first + k) % sessions] ?? "");
        if (token !== null) codec.next(token);
      }
      best.codec = Math.min(best.codec, (cpuNow() - c0) / perBatch);
      const work = [];
      for (let k = 0; k < perBatch; k++) {
        const i = nextSession();
        const token = codec.open(tokens[i] ?? "");
        if (token === null) throw new Error(`in-process: the token of session ${i} does not open`);
        work.push({ i, token, successor: codec.next(token) });
      }
      c0 = cpuNow();
      for (const { token, successor } of work) last = await rotate(token, successor);
      best.rotate = Math.min(best.rotate, (cpuNow() - c0) / perBatch);
      for (const { i, successor } of work) tokens[i] = successor.value;
      if (last === null) throw new Error("in-process: no rotation to sign for");
      const rotated = last;
      c0 = cpuNow();
      for (let k = 0; k < perBatch; k++) sign(rotated);
      best.sign = Math.min(best.sign, (cpuNow() - c0) / perBatch);
    }
    return best;
  }

  // Interleaved rounds, so a burst of load from elsewhere on the machine hits both alike;
  // as in verify.mjs, each figure keeps its best round, since interference only slows one down.
  const ROUNDS = 4;
  const PER_ROUND = 1_500;
  for (let i = 0; i < 300; i++) {
    await byPhase(false);
    await endToEnd(false);
  }
  for (let round = 0; round < ROUNDS; round++) {
    progress(`in-process: round ${round + 1}/${ROUNDS}`, true);
    for (let i = 0; i < PER_ROUND; i++) await byPhase(true);
    for (let i = 0; i < PER_ROUND; i++) await endToEnd(true);
  }
  const partsCpu = await partsCpuPerCall(ROUNDS, PER_ROUND);
  clearProgress();
  await store.close();

  const summary = (/** @type {number[]} */ values) => {
    const sorted = [...values].sort((a, b) => a - b);
    let bestRoundMean = Number.POSITIVE_INFINITY;
    for (let round = 0; round < ROUNDS; round++) {
      const part = values.slice(round * PER_ROUND, (round + 1) * PER_ROUND);
      bestRoundMean = Math.min(bestRoundMean, part.reduce((a, b) => a + b, 0) / part.length);
    }
    return {
      p50: sorted[Math.floor(sorted.length / 2)] ?? Number.NaN,
      bestRoundMean,
      mean: values.reduce((a, b) => a + b, 0) / values.length,
    };
  };
  return {
    sessions,
    refreshesPerPhase: ROUNDS * PER_ROUND,
    rounds: ROUNDS,
    unit: "microseconds",
    phases: {
      open: summary(samples.open),
      next: summary(samples.next),
      rotate: summary(samples.rotate),
      sign: summary(samples.sign),
    },
    sumOfPhases: summary(samples.sum),
    engineRefresh: summary(samples.engine),
    partsCpuMicrosPerCall: partsCpu,
  };
}

// ---- output ---------------------------------------------------------------------------

/**
 * Columns as wide as their widest cell, the first left-aligned and the figures right-aligned.
 * @param {readonly string[]} header
 * @param {readonly (readonly string[])[]} lines
 */
function table(header, lines) {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]?.length ?? 0)));
  const row = (/** @type {readonly string[]} */ cells) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)));
  console.log(row(header).join("  "));
  for (const line of lines) console.log(row(line).join("  "));
}

/**
 * @param {HttpFigures} http
 * @param {{ connections: number, slice: number, rounds: number, warmup: number, fastifyWork: number }} run
 */
function printHttpTable(http, run) {
  const ms = (/** @type {number} */ n) => n.toFixed(2);
  const errors = (/** @type {Summary} */ { totals: t }) => {
    const codes = Object.entries(t.statuses).filter(([code]) => code !== "200");
    const parts = [
      `${fmt(t.non200)} non-200${codes.length ? ` (${codes.map(([c, n]) => `${c}: ${fmt(n)}`).join(", ")})` : ""}`,
    ];
    if (t.connectionErrors) parts.push(`${t.connectionErrors} socket errors`);
    if (t.timeouts) parts.push(`${t.timeouts} timeouts`);
    if (t.brokenChains) parts.push(`${t.brokenChains} 200s without refresh_token`);
    return parts.join(", ");
  };
  const ratio = (/** @type {number} */ a, /** @type {number} */ b) => `${(a / b).toFixed(2)}x`;
  const { bare, fastify, prolong } = http;
  const cpu = (/** @type {Summary} */ target) => target.best.serverCpuMicrosPerRequest ?? null;
  const row = (/** @type {string} */ name, /** @type {Summary} */ target) => {
    const perRequest = cpu(target);
    return [
      name,
      fmt(target.best.requestsPerSecond),
      ms(target.best.p50),
      ms(target.best.p99),
      perRequest === null ? "-" : perRequest.toFixed(0),
      errors(target),
    ];
  };
  const ratioRow = (/** @type {string} */ name, /** @type {Summary} */ a, /** @type {Summary} */ b) => {
    const [cpuA, cpuB] = [cpu(a), cpu(b)];
    return [
      name,
      ratio(a.best.requestsPerSecond, b.best.requestsPerSecond),
      ratio(a.best.p50, b.best.p50),
      ratio(a.best.p99, b.best.p99),
      cpuA === null || cpuB === null ? "-" : ratio(cpuA, cpuB),
      "",
    ];
  };
  console.log(
    `\nPOST /oauth/token over loopback, ${run.connections} keep-alive connections; best of ${run.rounds} alternating ${run.slice} s rounds after ${run.warmup} s warm-up; errors over all rounds`,
  );
  table(
    ["target", "req/s", "p50 ms", "p99 ms", "server CPU µs/req", "errors"],
    [
      row("bare node:http", bare),
      row(
        `fastify, form in, fixed JSON out${run.fastifyWork > 0 ? `, +${run.fastifyWork} µs work` : ""}`,
        fastify,
      ),
      row("prolong refresh", prolong),
      ratioRow("refresh/bare", prolong, bare),
      ratioRow("refresh/fastify", prolong, fastify),
      ratioRow("fastify/bare", fastify, bare),
    ],
  );
  console.log(
    `server CPU µs/req: each server's own CPU time (user + system, from /proc) per answer. The bare${run.fastifyWork > 0 ? "" : " and Fastify"} server${run.fastifyWork > 0 ? " answers" : "s answer"} as fast as the one load generator asks, so its req/s is that generator's ceiling and the CPU per request is what the server costs.`,
  );
  if (prolong.totals.non200 + prolong.totals.connectionErrors + prolong.totals.timeouts > 0)
    console.log("warning: some refreshes failed, so the prolong row measures more than the refresh path");
  const rounds = (/** @type {Summary} */ r) => r.rounds.map((x) => fmt(x.requestsPerSecond)).join(", ");
  console.log(
    `req/s per round: bare ${rounds(bare)}; fastify ${rounds(fastify)}; prolong ${rounds(prolong)}`,
  );
  console.log(
    `refresh outcomes the server counted, warm-up included: ${JSON.stringify(prolong.outcomes)} (a replay is a request cut off at the end of a slice, sent again in the next); node ${process.version}, ${cpus().length} CPUs`,
  );
}

/** @param {InProcessFigures} r */
function printPhaseTable(r) {
  const us = (/** @type {number} */ n) => n.toFixed(1);
  /** @type {Record<keyof InProcessFigures["phases"], string>} */
  const names = {
    open: "open presented token (RefreshTokenCodec.open)",
    next: "derive successor (RefreshTokenCodec.next)",
    rotate: "store rotate",
    sign: "claims + signAccessToken",
  };
  /** @type {[keyof InProcessFigures["phases"], string][]} */
  const phases = /** @type {any} */ (Object.entries(names));
  const p50s = phases.reduce((sum, [key]) => sum + r.phases[key].p50, 0);
  console.log(
    `\nin-process refresh cost, ${fmt(r.refreshesPerPhase)} refreshes each over ${fmt(r.sessions)} SQLite sessions, ${r.rounds} interleaved rounds`,
  );
  table(
    ["phase", "p50 µs", "best-round mean µs", "share of p50s"],
    [
      ...phases.map(([key, label]) => [
        label,
        us(r.phases[key].p50),
        us(r.phases[key].bestRoundMean),
        `${((r.phases[key].p50 / p50s) * 100).toFixed(0)}%`,
      ]),
      ["all four phases, one refresh", us(r.sumOfPhases.p50), us(r.sumOfPhases.bestRoundMean), ""],
      ["engine.refresh end to end", us(r.engineRefresh.p50), us(r.engineRefresh.bestRoundMean), ""],
    ],
  );
  console.log(
    "engine.refresh also runs the standing check, the claims hook and its event listeners; the codec is rebuilt from the store's secret, as the engine keeps its own private.",
  );
}

/**
 * Server CPU per refresh answer beside the sum of its parts, all from this run and all
 * CPU time: the parts measured in process (partsCpuPerCall: the codec's open + next, the
 * store's rotate with the server's grant budget, the claims + EdDSA signature) and the
 * HTTP floor, the bare node:http server's CPU per answer. Each server figure is its lowest round (interference
 * only adds CPU); the ratio is the refresh's server CPU over the sum.
 * @param {HttpFigures} http
 * @param {InProcessFigures} r
 */
function costOfParts(http, r) {
  const lowest = (/** @type {Summary} */ target) => {
    const values = target.rounds.flatMap((x) =>
      x.serverCpuMicrosPerRequest == null ? [] : [x.serverCpuMicrosPerRequest],
    );
    return values.length ? Math.min(...values) : null;
  };
  const parts = { ...r.partsCpuMicrosPerCall, httpFloor: lowest(http.bare) };
  const refresh = lowest(http.prolong);
  const sum = parts.httpFloor === null ? null : parts.sign + parts.rotate + parts.codec + parts.httpFloor;
  return {
    unit: "microseconds",
    parts,
    sumOfParts: sum,
    fastifyCpuMicrosPerAnswer: lowest(http.fastify),
    refreshCpuMicrosPerAnswer: refresh,
    ratio: refresh === null || sum === null ? null : refresh / sum,
    goalRatio: 2,
  };
}

/** @param {ReturnType<typeof costOfParts>} c */
function printCostTable(c) {
  const us = (/** @type {number | null} */ n) => (n === null ? "-" : n.toFixed(1));
  const share = (/** @type {number | null} */ n) =>
    n === null || c.refreshCpuMicrosPerAnswer === null
      ? ""
      : `${((n / c.refreshCpuMicrosPerAnswer) * 100).toFixed(0)}%`;
  console.log("\nserver CPU per refresh answer beside the sum of its parts, this run");
  table(
    ["", "µs", "of the refresh"],
    [
      ["sign: claims + EdDSA signAccessToken (in process)", us(c.parts.sign), share(c.parts.sign)],
      ["rotate: store rotate with the grant budget (in process)", us(c.parts.rotate), share(c.parts.rotate)],
      ["codec: refresh token open + next (in process)", us(c.parts.codec), share(c.parts.codec)],
      ["HTTP floor: bare node:http server CPU per answer", us(c.parts.httpFloor), share(c.parts.httpFloor)],
      ["sum of the parts", us(c.sumOfParts), share(c.sumOfParts)],
      ["prolong serve: server CPU per refresh answer", us(c.refreshCpuMicrosPerAnswer), "100%"],
      ["(fastify reference: server CPU per answer)", us(c.fastifyCpuMicrosPerAnswer), ""],
      [
        `refresh ÷ sum of parts (goal ≤ ${c.goalRatio}x)`,
        c.ratio === null ? "-" : `${c.ratio.toFixed(2)}x`,
        "",
      ],
    ],
  );
  console.log(
    "every figure is CPU time: each part alone in process, its lowest batch; each server's own (/proc) per answer, its lowest round. Nothing here is asserted.",
  );
}

// Last, so every declaration above is initialised whichever role this process plays.
if (OPTIONS.role === "fastify") await runFastifyServer(OPTIONS.fastifyWork);
else await main();

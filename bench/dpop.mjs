// What DPoP (RFC 9449) costs: a bound native refresh beside an unbound one through the real
// server over loopback HTTP (the server's CPU per refresh, and latency), and a bound access
// token checked with its proof (verifyDpop) beside an unbound one (verify) in process.
// Run after `npm run build`:
//   node bench/dpop.mjs [--duration 5] [--rounds 3] [--warmup 1] [--connections 8]
//                       [--sessions 2000] [--seconds 0.3] [--verify-rounds 7]
// Prints the tables and writes bench/results/dpop.json. Figures are ratios within one run on
// one machine; nothing here is asserted, and it never runs inside `npm test`.
//
// Processes: `prolong serve` runs in a process of its own (its CPU is read from /proc);
// this script makes the proofs and the requests, each proof signed before its request's
// clock starts, so the client's signing is in neither the server's CPU nor the latency.
// Bound and unbound rounds alternate, and each keeps its best round: on a shared machine,
// interference only ever slows a round down. Everything binds to 127.0.0.1 and stops.
import { createHash, generateKeyPairSync, randomUUID, sign } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createVerifier } from "@prolong/verify";
import { AUDIENCE, accessTokenClaims, ISSUER } from "./lib/access-token.mjs";
import { benchOptions } from "./lib/args.mjs";
import {
  benchScratch,
  cpuSeconds,
  freePort,
  seedNativeSessions,
  spawnServer,
  stopServer,
  UNLIMITED_RATE_LIMITS,
} from "./lib/refresh-load.mjs";
import { benchFailed, clearProgress, fmt, printTable, progress } from "./lib/report.mjs";
import { writeBenchResults } from "./lib/results.mjs";

const OPTIONS = benchOptions({
  duration: { type: "number", default: 5, quick: 1, min: 0.5, max: 3600 },
  warmup: { type: "number", default: 1, quick: 0.5, min: 0, max: 600 },
  rounds: { type: "number", default: 3, quick: 1, integer: true, min: 1, max: 100 },
  connections: { type: "number", default: 8, integer: true, min: 1, max: 256 },
  sessions: { type: "number", default: 2_000, quick: 400, integer: true, min: 16, max: 200_000 },
  seconds: { type: "number", default: 0.3, quick: 0.1, min: 0.01, max: 60 },
  verifyRounds: { type: "number", default: 7, quick: 2, integer: true, min: 1, max: 100 },
});

/** @typedef {"unbound" | "bound"} Mode */
/** @typedef {{ refreshesPerSecond: number, p50: number, p99: number, serverCpuMicros: number, refused: number }} HttpRound */

const b64 = (/** @type {string | Buffer} */ value) => Buffer.from(value).toString("base64url");
const sha256 = (/** @type {string} */ value) => createHash("sha256").update(value).digest("base64url");

/**
 * A client's P-256 key and a maker of RFC 9449 §4.2 proofs with it (ES256, as the client
 * SDK makes them), signed with node:crypto.
 */
function dpopClient() {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const { crv, kty, x, y } = publicKey.export({ format: "jwk" });
  // RFC 7638 §3.2: the required members, in lexicographic order, no whitespace.
  const jkt = sha256(JSON.stringify({ crv, kty, x, y }));
  const header = b64(JSON.stringify({ typ: "dpop+jwt", alg: "ES256", jwk: { kty, crv, x, y } }));
  /**
   * @param {string} htm
   * @param {string} htu
   * @param {string} [accessToken] its hash goes in `ath` (RFC 9449 §4.2)
   */
  const proof = (htm, htu, accessToken) => {
    /** @type {Record<string, string | number>} */
    const payload = { jti: randomUUID(), htm, htu, iat: Math.floor(Date.now() / 1000) };
    if (accessToken !== undefined) payload.ath = sha256(accessToken);
    const input = `${header}.${b64(JSON.stringify(payload))}`;
    return `${input}.${b64(sign("sha256", Buffer.from(input), { key: privateKey, dsaEncoding: "ieee-p1363" }))}`;
  };
  return { jkt, proof };
}

/** @param {number[]} sorted @param {number} q */
const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

// ---- refresh over HTTP --------------------------------------------------------------

/**
 * Refreshes for `seconds` with `connections` loops, each taking the next session from
 * `queue` and putting its new refresh token back (no two loops ever hold one session).
 * @param {{ url: string, pid: number | undefined }} server
 * @param {string[]} queue refresh tokens of one mode's sessions
 * @param {((htu: string) => string) | null} proofFor
 * @param {number} seconds
 * @returns {Promise<HttpRound>}
 */
async function refreshRound(server, queue, proofFor, seconds) {
  const endpoint = `${server.url}/oauth/token`;
  /** @type {number[]} */
  const latencies = [];
  let refused = 0;
  const end = Date.now() + seconds * 1000;
  const cpuBefore = cpuSeconds(server.pid);
  const started = process.hrtime.bigint();
  const loop = async () => {
    while (Date.now() < end) {
      const token = queue.shift();
      if (token === undefined) return;
      /** @type {Record<string, string>} */
      const headers = { "content-type": "application/x-www-form-urlencoded" };
      if (proofFor) headers.dpop = proofFor(endpoint);
      const body = new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: token,
        client_id: "native",
      });
      const t0 = process.hrtime.bigint();
      const response = await fetch(endpoint, { method: "POST", headers, body });
      const answer = /** @type {{ refresh_token?: string }} */ (await response.json());
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (response.ok && answer.refresh_token) queue.push(answer.refresh_token);
      else refused++;
    }
  };
  await Promise.all(Array.from({ length: OPTIONS.connections }, loop));
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  const cpuAfter = cpuSeconds(server.pid);
  latencies.sort((a, b) => a - b);
  const done = latencies.length - refused;
  return {
    refreshesPerSecond: done / wall,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    serverCpuMicros:
      cpuBefore === null || cpuAfter === null ? Number.NaN : ((cpuAfter - cpuBefore) * 1e6) / done,
    refused,
  };
}

/**
 * @param {string} dir
 * @param {Set<import("node:child_process").ChildProcess>} children
 * @param {ReturnType<typeof dpopClient>} client
 */
async function measureRefresh(dir, children, client) {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const store = join(dir, "bench.db");
  const tokens = await seedNativeSessions(store, issuer, Math.min(200, OPTIONS.sessions), OPTIONS.sessions, {
    boundJkt: client.jkt,
  });
  clearProgress();
  /** @type {Record<Mode, string[]>} */
  const queues = {
    unbound: tokens.filter((_, i) => i % 2 === 0),
    bound: tokens.filter((_, i) => i % 2 === 1),
  };
  const configFile = join(dir, "config.json");
  // `allowed`: a bound session refreshes only with its key's proof, an unbound one without.
  writeFileSync(
    configFile,
    JSON.stringify({ rateLimits: UNLIMITED_RATE_LIMITS, profiles: { native: { dpop: "allowed" } } }),
  );
  const { url, child } = await spawnServer({ dir, port, issuer, store }, configFile, children);
  const server = { url, pid: child.pid };
  /** @type {Record<Mode, ((htu: string) => string) | null>} */
  const proofs = { unbound: null, bound: (htu) => client.proof("POST", htu) };
  try {
    /** @type {Record<Mode, HttpRound | null>} */
    const best = { unbound: null, bound: null };
    for (const mode of /** @type {Mode[]} */ (["unbound", "bound"]))
      if (OPTIONS.warmup > 0) await refreshRound(server, queues[mode], proofs[mode], OPTIONS.warmup);
    for (let round = 0; round < OPTIONS.rounds; round++) {
      for (const mode of /** @type {Mode[]} */ (
        round % 2 === 0 ? ["unbound", "bound"] : ["bound", "unbound"]
      )) {
        progress(`refresh over HTTP: round ${round + 1}/${OPTIONS.rounds}, ${mode}`, true);
        const figures = await refreshRound(server, queues[mode], proofs[mode], OPTIONS.duration);
        if (figures.refused > 0) throw new Error(`${figures.refused} ${mode} refreshes were refused`);
        const kept = best[mode];
        if (!kept || figures.serverCpuMicros < kept.serverCpuMicros) best[mode] = figures;
      }
    }
    clearProgress();
    return /** @type {Record<Mode, HttpRound>} */ (best);
  } finally {
    await stopServer(child);
  }
}

// ---- verify in process ----------------------------------------------------------------

/**
 * An EdDSA access token as the verify benches check (lib/access-token.mjs), bound when `jkt` is given.
 * @param {import("node:crypto").KeyObject} privateKey
 * @param {string | null} jkt
 */
function accessToken(privateKey, jkt) {
  const now = Math.floor(Date.now() / 1000);
  const claims = { ...accessTokenClaims(now, 3600), ...(jkt ? { cnf: { jkt } } : {}) };
  const input = `${b64(JSON.stringify({ alg: "EdDSA", typ: "at+jwt", kid: "k1" }))}.${b64(JSON.stringify(claims))}`;
  return `${input}.${b64(sign(null, Buffer.from(input), privateKey))}`;
}

/**
 * Checks per CPU second of this process: `check(i)` called for i = 0…, timed in batches
 * for `seconds`. `prepare(n)` makes what n calls need (fresh proofs) outside the timing.
 * @param {(count: number) => void} prepare
 * @param {(i: number) => Promise<import("@prolong/verify").VerifyResult>} check
 * @param {number} seconds
 */
async function checksPerCpuSecond(prepare, check, seconds) {
  const batch = 500;
  let calls = 0;
  let cpuMicros = 0;
  const end = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
  while (process.hrtime.bigint() < end) {
    prepare(batch);
    const cpu = process.cpuUsage();
    for (let i = 0; i < batch; i++) {
      const result = await check(i);
      if (!result.ok) throw new Error(`the bench token was refused: ${result.reason}`);
    }
    const used = process.cpuUsage(cpu);
    cpuMicros += used.user + used.system;
    calls += batch;
  }
  return calls / (cpuMicros / 1e6);
}

/** @param {ReturnType<typeof dpopClient>} client */
async function measureVerify(client) {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const keys = [{ ...publicKey.export({ format: "jwk" }), kid: "k1", alg: "EdDSA", use: "sig" }];
  const verifier = await createVerifier({ issuer: ISSUER, audience: AUDIENCE, keys });
  const unbound = accessToken(privateKey, null);
  const bound = accessToken(privateKey, client.jkt);
  const url = "https://api.example.test/orders";
  /** @type {string[]} */
  let proofs = [];
  const prepareProofs = (/** @type {number} */ n) => {
    proofs = Array.from({ length: n }, () => client.proof("GET", url, bound));
  };
  const contenders = {
    unbound: {
      prepare: () => {},
      check: () => verifier.verify(unbound),
    },
    bound: {
      prepare: prepareProofs,
      check: (/** @type {number} */ i) =>
        verifier.verifyDpop(bound, { proof: proofs[i], method: "GET", url }),
    },
  };
  /** @type {Record<Mode, number>} */
  const best = { unbound: 0, bound: 0 };
  for (let round = 0; round < OPTIONS.verifyRounds; round++)
    for (const mode of /** @type {Mode[]} */ (["unbound", "bound"])) {
      const { prepare, check } = contenders[mode];
      best[mode] = Math.max(best[mode], await checksPerCpuSecond(prepare, check, OPTIONS.seconds));
    }
  return best;
}

// ---- the bench itself --------------------------------------------------------------------

async function main() {
  const { children, dir, stopAll } = benchScratch(
    "dpop",
    120_000 + 4 * OPTIONS.rounds * OPTIONS.duration * 1000,
  );
  try {
    const client = dpopClient();
    const verify = await measureVerify(client);
    const http = await measureRefresh(dir, children, client);

    const ratio = (/** @type {number} */ n, /** @type {number} */ d) => `${(n / d).toFixed(2)}×`;
    const ms = (/** @type {number} */ n) => n.toFixed(2);
    console.log(
      `\nnative refresh over loopback HTTP, ${OPTIONS.connections} connections, best of ${OPTIONS.rounds} rounds of ${OPTIONS.duration} s, node ${process.version}`,
    );
    printTable(
      ["refresh", "refreshes/s", "p50 ms", "p99 ms", "server CPU µs/refresh"],
      [
        .../** @type {Mode[]} */ (["unbound", "bound"]).map((mode) => [
          mode,
          fmt(http[mode].refreshesPerSecond),
          ms(http[mode].p50),
          ms(http[mode].p99),
          fmt(http[mode].serverCpuMicros),
        ]),
        [
          "bound ÷ unbound",
          ratio(http.bound.refreshesPerSecond, http.unbound.refreshesPerSecond),
          ratio(http.bound.p50, http.unbound.p50),
          ratio(http.bound.p99, http.unbound.p99),
          ratio(http.bound.serverCpuMicros, http.unbound.serverCpuMicros),
        ],
      ],
    );
    console.log(
      "bound: the session is bound to an ES256 key and each refresh carries a fresh proof (checked, its jti claimed in the store); unbound: no proof",
    );
    console.log(
      `\naccess-token checks per CPU second, best of ${OPTIONS.verifyRounds} rounds of ${OPTIONS.seconds} s`,
    );
    printTable(
      ["verify", "checks/CPU s", "µs/check"],
      [
        ["unbound (Bearer, verify)", fmt(verify.unbound), (1e6 / verify.unbound).toFixed(1)],
        ["bound (DPoP, verifyDpop + proof)", fmt(verify.bound), (1e6 / verify.bound).toFixed(1)],
        ["bound ÷ unbound (time per check)", "", ratio(verify.unbound, verify.bound)],
      ],
    );
    console.log(
      "EdDSA access tokens; bound: a fresh ES256 proof per check (made outside the timing), its signature, claims, ath and jti replay checked",
    );

    writeBenchResults("dpop", {
      options: OPTIONS,
      rows: {
        refresh: http,
        refreshRatios: {
          requestsPerSecond: http.bound.refreshesPerSecond / http.unbound.refreshesPerSecond,
          p50: http.bound.p50 / http.unbound.p50,
          p99: http.bound.p99 / http.unbound.p99,
          serverCpu: http.bound.serverCpuMicros / http.unbound.serverCpuMicros,
        },
        verify: { ...verify, timeRatio: verify.unbound / verify.bound },
      },
      plots: [],
    });
  } catch (error) {
    benchFailed(error);
  } finally {
    stopAll();
  }
}

await main();

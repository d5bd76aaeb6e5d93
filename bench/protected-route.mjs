// One protected route (GET /api/me, answering the token's `sub`) behind prolong's verify
// adapter, beside the same route unprotected and behind the framework's usual JWT plugin:
// Fastify with @fastify/jwt, Express with express-jwt. Same key, same algorithm and the
// same token within a framework; real server processes; autocannon in its own process.
// Run after `npm run build`:
//   node bench/protected-route.mjs [--quick] [--duration 10] [--rounds 2] [--warmup 2] [--connections 16]
// Prints a table and writes bench/results/protected-route.json. Figures are ratios within
// one run on one machine; nothing here is asserted, and it never runs inside `npm test`.
//
// Algorithms: Fastify's three run on EdDSA (prolong's default; fast-jwt under
// @fastify/jwt supports it). express-jwt relies on jsonwebtoken, which has no EdDSA, so
// Express's three run on ES256.
//
// Per request, every guard reads the Authorization header, checks the signature and the
// issuer, audience and expiry; prolong's also checks `typ` (at+jwt), every claim of its
// access tokens, duplicate and prototype-polluting JSON member names, and canonical
// base64url (docs/protocol.md). No guard caches verified tokens.
import { generateKeyPairSync, sign } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  boundedRun,
  describeErrors,
  measureAlternating,
  options,
  startFixedLoad,
  startServerScript,
} from "./lib/fixed-load.mjs";
import { stopServer } from "./lib/refresh-load.mjs";
import { clearProgress, fmt, printTable } from "./lib/report.mjs";
import { writeBenchResults } from "./lib/results.mjs";

const ROUTE_SERVER = fileURLToPath(new URL("./peers/route-server.mjs", import.meta.url));
const ISSUER = "https://auth.example.test";
const AUDIENCE = "prolong";

const opt = options(
  { duration: 10, rounds: 2, warmup: 2, connections: 16 },
  { duration: 3, rounds: 1, warmup: 1 },
);

const FRAMEWORKS = {
  fastify: { alg: "EdDSA", peer: "@fastify/jwt" },
  express: { alg: "ES256", peer: "express-jwt" },
};
const GUARDS = ["none", "prolong", "peer"];

/** A key pair for `alg`, its public half as a JWK and as SPKI PEM, and a token shaped like prolong's. */
function material(alg) {
  const pair =
    alg === "EdDSA" ? generateKeyPairSync("ed25519") : generateKeyPairSync("ec", { namedCurve: "P-256" });
  const now = Math.floor(Date.now() / 1000);
  const header = { alg, typ: "at+jwt", kid: "k1" };
  const claims = {
    iss: ISSUER,
    sub: "user-42",
    aud: AUDIENCE,
    exp: now + 1800,
    iat: now,
    jti: "3f2a9c1e-7b4d-4e8a-9c0f-5d6e7f8a9b0c",
    client_id: "web",
    sid: "sess-8d7c6b5a",
    ver: 3,
    auth_time: now - 3600,
    rfa: now + 1500,
  };
  const encode = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const input = `${encode(header)}.${encode(claims)}`;
  const signature =
    alg === "EdDSA"
      ? sign(null, Buffer.from(input), pair.privateKey)
      : sign("sha256", Buffer.from(input), { key: pair.privateKey, dsaEncoding: "ieee-p1363" });
  return {
    keys: {
      alg,
      jwk: { ...pair.publicKey.export({ format: "jwk" }), kid: "k1", alg, use: "sig" },
      pem: pair.publicKey.export({ format: "pem", type: "spki" }).toString(),
      issuer: ISSUER,
      audience: AUDIENCE,
    },
    token: `${input}.${signature.toString("base64url")}`,
  };
}

/** Before any load: the route answers the token's sub, and a guarded one refuses a forged token. */
async function checkServer(url, token, guard) {
  const get = (authorization) =>
    fetch(`${url}/api/me`, { headers: { authorization }, signal: AbortSignal.timeout(10_000) });
  const good = await get(`Bearer ${token}`);
  const body = await good.json();
  const expected = guard === "none" ? "anonymous" : "user-42";
  if (good.status !== 200 || body.sub !== expected)
    throw new Error(`${url} answered ${good.status} ${JSON.stringify(body)} to the bench token`);
  if (guard === "none") return;
  const [head, payload, signature] = token.split(".");
  const altered = Buffer.from(signature, "base64url");
  altered[10] ^= 1;
  const forged = `${head}.${payload}.${altered.toString("base64url")}`;
  const bad = await get(`Bearer ${forged}`);
  if (bad.status !== 401) throw new Error(`${url} answered ${bad.status} to a forged token`);
}

async function main() {
  const children = new Set();
  const dir = mkdtempSync(join(tmpdir(), "prolong-bench-route-"));
  const budgetMs = 120_000 + 6 * (opt.warmup + opt.duration) * 1000;
  const stopAll = boundedRun(children, budgetMs, () => rmSync(dir, { recursive: true, force: true }));
  try {
    const targets = {};
    const servers = [];
    const labels = {};
    for (const [framework, { alg, peer }] of Object.entries(FRAMEWORKS)) {
      const { keys, token } = material(alg);
      const keysFile = join(dir, `${alg}.json`);
      writeFileSync(keysFile, JSON.stringify(keys));
      for (const guard of GUARDS) {
        const key = `${framework}-${guard}`;
        labels[key] =
          `${framework}, ${guard === "none" ? "unprotected" : guard === "prolong" ? "@prolong/verify" : peer} (${alg})`;
        const server = await startServerScript(
          ROUTE_SERVER,
          ["--framework", framework, "--guard", guard, "--keys", keysFile],
          children,
          { NODE_ENV: "production" },
        );
        servers.push(server);
        await checkServer(server.url, token, guard);
        targets[key] = {
          pid: server.child.pid,
          load: await startFixedLoad(
            labels[key],
            {
              url: server.url,
              request: { method: "GET", path: "/api/me", headers: { authorization: `Bearer ${token}` } },
            },
            opt.connections,
            children,
          ),
        };
      }
    }
    const slice = opt.duration / opt.rounds;
    const measured = await measureAlternating(targets, { warmup: opt.warmup, rounds: opt.rounds, slice });
    for (const { load } of Object.values(targets)) load.child.disconnect();
    await Promise.all(servers.map((server) => stopServer(server.child)));
    clearProgress();
    report(measured, labels, slice);
  } catch (error) {
    clearProgress();
    console.error(`bench: ${error.message}`);
    process.exitCode = 1;
  } finally {
    stopAll();
  }
}

function report(measured, labels, slice) {
  const rps = (key) => measured[key].best.requestsPerSecond;
  const cpu = (key) => measured[key].best.serverCpuMicrosPerRequest;
  console.log(
    `\nGET /api/me over loopback, ${opt.connections} keep-alive connections; best of ${opt.rounds} alternating ${slice} s rounds after ${opt.warmup} s warm-up; errors over all rounds`,
  );
  const ratio = (a, b) => `${(a / b).toFixed(2)}×`;
  printTable(
    ["route", "req/s", "÷ unprotected", "p50 ms", "p99 ms", "server CPU µs/req", "errors"],
    Object.keys(labels).map((key) => [
      labels[key],
      fmt(rps(key)),
      ratio(rps(key), rps(`${key.split("-")[0]}-none`)),
      measured[key].best.p50.toFixed(2),
      measured[key].best.p99.toFixed(2),
      cpu(key) === null ? "-" : fmt(cpu(key)),
      describeErrors(measured[key]),
    ]),
  );
  const ratios = {};
  for (const framework of Object.keys(FRAMEWORKS)) {
    ratios[framework] = {
      prolongToUnprotected: rps(`${framework}-prolong`) / rps(`${framework}-none`),
      prolongToPeer: rps(`${framework}-prolong`) / rps(`${framework}-peer`),
      peerToUnprotected: rps(`${framework}-peer`) / rps(`${framework}-none`),
    };
  }
  console.log("");
  printTable(
    [
      "framework",
      "prolong ÷ unprotected (target ≥ 0.7×)",
      "prolong ÷ peer (target > 1×)",
      "peer ÷ unprotected",
    ],
    Object.entries(ratios).map(([framework, r]) => [
      `${framework} (${FRAMEWORKS[framework].alg}, peer ${FRAMEWORKS[framework].peer})`,
      `${r.prolongToUnprotected.toFixed(2)}×`,
      `${r.prolongToPeer.toFixed(2)}×`,
      `${r.peerToUnprotected.toFixed(2)}×`,
    ]),
  );

  const rows = Object.keys(labels).map((key) => {
    const [framework, guard] = key.split("-");
    return {
      framework,
      guard,
      alg: FRAMEWORKS[framework].alg,
      label: labels[key],
      requestsPerSecond: rps(key),
      p50Ms: measured[key].best.p50,
      p99Ms: measured[key].best.p99,
      serverCpuMicrosPerRequest: cpu(key),
      totals: measured[key].totals,
      rounds: measured[key].rounds.map((r) => r.requestsPerSecond),
    };
  });
  const group = (guard, framework) =>
    guard === "none" ? "unprotected" : guard === "prolong" ? "@prolong/verify" : FRAMEWORKS[framework].peer;
  writeBenchResults("protected-route", {
    options: opt,
    ratios,
    rows,
    plots: Object.entries(FRAMEWORKS).map(([framework, { alg }]) => ({
      id: `protected-route-${framework}`,
      title: `A protected ${framework === "fastify" ? "Fastify" : "Express"} route (${alg})`,
      unit: "req/s",
      note: `GET /api/me, ${opt.connections} connections, same key and token for every guard; best of ${opt.rounds} × ${slice} s`,
      bars: rows
        .filter((row) => row.framework === framework)
        .map((row) => ({
          label: row.label.replace(`${framework}, `, "").replace(` (${alg})`, ""),
          value: Math.round(row.requestsPerSecond),
          group: group(row.guard, framework),
        })),
    })),
  });
}

await main();
process.exit();

// Access-token verifications per second on the runtimes without node:crypto's fast path:
// @prolong/verify's Web Crypto backend beside jose's jwtVerify, in the same runtime, for
// EdDSA and ES256, in Deno, Bun and workerd (Cloudflare Workers), and in Node for
// reference (Node with the Web Crypto backend too, and with its own node:crypto backend).
// Run after `npm run build`:
//   node bench/edge-verify.mjs [--seconds 0.5] [--rounds 5] [--runtimes node,deno,bun,workerd]
// Prints a table and writes bench/results/edge-verify.json. Figures are ratios within one
// run on one machine; nothing here is asserted, and it never runs inside `npm test`.
//
// The code that runs in each runtime is one module (RUNTIME_MODULE below), bundled by
// esbuild with the package conditions that pick the Web Crypto backend, as the edge
// runtimes' own bundlers resolve them. Rates are verifications per CPU second of the
// runtime's process, the best of the rounds (on a shared machine, CPU time is what a
// contender costs, and interference only ever slows a round down). Deno, Bun and Node
// count their own CPU time (`process.cpuUsage`, which all three have); workerd's clocks
// stand still while a request computes (a guard against timing attacks) and it has no
// such call, so there the bench reads the CPU time of workerd's processes from /proc
// around each request and subtracts that of an empty one.
import { execFile, execFileSync, spawn } from "node:child_process";
import { generateKeyPairSync, sign } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { build } from "esbuild";
import { AUDIENCE, accessTokenClaims, ISSUER } from "./lib/access-token.mjs";
import { benchOptions } from "./lib/args.mjs";
import { cleanupOnExit } from "./lib/cleanup.mjs";
import { fmt, printTable } from "./lib/report.mjs";
import { writeBenchResults } from "./lib/results.mjs";

const RUNTIMES = ["node", "deno", "bun", "workerd"];
const {
  seconds: SECONDS,
  rounds: ROUNDS,
  runtimes: CHOSEN,
} = benchOptions({
  seconds: { type: "number", default: 0.5, quick: 0.1, min: 0.01, max: 30 },
  rounds: { type: "number", default: 5, quick: 2, min: 1, max: 50, integer: true },
  runtimes: { type: "list", default: RUNTIMES, choices: RUNTIMES },
});
/** Calls in one timed batch at most, whatever the clock says: every loop is bounded. */
const MAX_CALLS = 1_000_000;

const root = fileURLToPath(new URL("..", import.meta.url));
const bin = (/** @type {string} */ name) => join(root, "node_modules", ".bin", name);
const run = promisify(execFile);
const cleanup = cleanupOnExit(10 * 60 * 1000);

/**
 * A token shaped like the ones prolong issues (docs/protocol.md), signed with node:crypto,
 * and the public key as a JWK.
 * @param {"EdDSA" | "ES256"} alg
 */
function signedToken(alg) {
  const pair =
    alg === "EdDSA" ? generateKeyPairSync("ed25519") : generateKeyPairSync("ec", { namedCurve: "P-256" });
  const now = Math.floor(Date.now() / 1000);
  const header = { alg, typ: "at+jwt", kid: "k1" };
  const claims = accessTokenClaims(now, 3600);
  const b64 = (/** @type {object} */ value) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const input = `${b64(header)}.${b64(claims)}`;
  const signature =
    alg === "EdDSA"
      ? sign(null, Buffer.from(input), pair.privateKey)
      : sign("sha256", Buffer.from(input), { key: pair.privateKey, dsaEncoding: "ieee-p1363" });
  const jwk = { ...pair.publicKey.export({ format: "jwk" }), kid: "k1", alg, use: "sig" };
  return { alg, jwk, token: `${input}.${signature.toString("base64url")}` };
}

// What runs inside each runtime: the contenders, each checked once on the token, and a
// timed loop. `input.json` is bundled in; the tail (per runtime) decides how it is driven.
const RUNTIME_MODULE = `
import { checkSignature, createVerifier, importVerificationKey, parseCompactJws } from "@prolong/verify";
import { importJWK, jwtVerify } from "jose";
import input from "./input.json";

export async function contenders() {
  const list = [];
  for (const { alg, jwk, token } of input.tokens) {
    const prolong = await createVerifier({ issuer: input.issuer, audience: input.audience, keys: [jwk], algorithms: [alg] });
    const key = await importJWK(jwk, alg);
    const joseOptions = { issuer: input.issuer, audience: input.audience, algorithms: [alg], typ: "at+jwt" };
    const prolongVerify = async () => {
      const result = await prolong.verify(token);
      if (!result.ok) throw new Error("prolong refused the token: " + result.reason);
    };
    const joseVerify = async () => {
      const { payload } = await jwtVerify(token, key, joseOptions);
      if (payload.sub !== "user-42") throw new Error("jose read another subject");
    };
    await prolongVerify();
    await joseVerify();
    list.push({ alg, name: "prolong", fn: prolongVerify }, { alg, name: "jose", fn: joseVerify });
  }
  return list;
}

/** The backend the bundle holds: Web Crypto's signature check answers with a promise. */
export async function backend() {
  const { alg, jwk, token } = input.tokens[0];
  const key = await importVerificationKey(jwk, [alg]);
  return checkSignature(parseCompactJws(token, new Set([alg]), 8192), key) ? "Web Crypto" : "node:crypto";
}

export async function calls(fn, n) {
  for (let i = 0; i < n; i++) await fn();
}

/** CPU seconds this process has used. */
const cpuSeconds = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

/**
 * Calls per CPU second: batches until the round's CPU time is spent, never more than the
 * cap of calls nor twenty times the round in wall time (a starved process stops too).
 */
export async function timed(fn) {
  await calls(fn, 50);
  let done = 0;
  const wallEnd = performance.now() + 20 * input.seconds * 1000;
  const start = cpuSeconds();
  while (cpuSeconds() - start < input.seconds && done < input.maxCalls && performance.now() < wallEnd) {
    await calls(fn, 100);
    done += 100;
  }
  return done / (cpuSeconds() - start);
}
`;

/** Deno, Bun and Node: the runtime times every round itself and prints the best rates. */
const SELF_TIMED = `
const list = await contenders();
const best = {};
for (let round = 0; round < input.rounds; round++)
  for (const c of list) best[c.alg + " " + c.name] = Math.max(best[c.alg + " " + c.name] ?? 0, await timed(c.fn));
const version = globalThis.Deno?.version?.deno ?? globalThis.Bun?.version ?? globalThis.process?.version;
console.log(JSON.stringify({ backend: await backend(), version, best }));
`;

/** workerd: each request runs `n` calls of one contender; the bench times the request. */
const WORKER = `
let list;
export default {
  async fetch(request) {
    list ??= await contenders();
    const url = new URL(request.url);
    if (url.pathname === "/backend") return new Response(await backend());
    const c = list.find((c) => c.alg + " " + c.name === url.searchParams.get("contender"));
    const n = Number(url.searchParams.get("n"));
    if (!c || !(n >= 0 && n <= input.maxCalls)) return new Response("no such contender", { status: 404 });
    await calls(c.fn, n);
    return new Response("done");
  },
};
`;

/**
 * One ES module for a runtime: the runtime module, its input, and `tail`.
 * @param {string} dir
 * @param {string} name
 * @param {string[]} conditions
 * @param {"node" | "neutral"} platform
 * @param {string} tail
 */
async function bundle(dir, name, conditions, platform, tail) {
  const outfile = join(dir, `${name}.mjs`);
  await build({
    stdin: { contents: `${RUNTIME_MODULE}\n${tail}`, resolveDir: dir, loader: "js" },
    bundle: true,
    format: "esm",
    platform,
    conditions,
    mainFields: ["module", "main"],
    external: ["node:*"],
    nodePaths: [join(root, "node_modules")],
    outfile,
    logLevel: "silent",
  });
  return outfile;
}

/**
 * @typedef {{ backend: string, version?: string, best: Record<string, number> }} RuntimeResult
 * @typedef {{ runtime: string, backend: string, alg: string, prolong: number, jose: number, timing: string }} Row
 */

/**
 * @param {string} command
 * @param {string[]} args
 * @param {NodeJS.ProcessEnv} [env]
 * @returns {Promise<RuntimeResult>}
 */
async function selfTimed(command, args, env = process.env) {
  const { stdout } = await run(command, args, { env, timeout: 5 * 60 * 1000, maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split("\n").at(-1) ?? "");
}

/**
 * workerd serving the bundle on a loopback port the OS gives; rounds timed from here.
 * @param {string} dir
 * @param {string} file
 * @param {string[]} names
 * @returns {Promise<RuntimeResult>}
 */
async function onWorkerd(dir, file, names) {
  // workerd takes its address from its configuration: ask the OS for a free port, then name it.
  const port = await new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = /** @type {import("node:net").AddressInfo} */ (probe.address());
      probe.close(() => resolve(address.port));
    });
  });
  writeFileSync(
    join(dir, "config.capnp"),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .worker)],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [(name = "worker", esModule = embed "${file.split("/").at(-1)}")],
  compatibilityDate = "2025-01-01",
);
`,
  );
  // Its own process group: the npm bin is a Node launcher whose child is the real binary.
  const server = spawn(bin("workerd"), ["serve", join(dir, "config.capnp")], {
    stdio: ["ignore", "ignore", "inherit"],
    detached: true,
  });
  const exited = new Promise((resolve) => server.once("exit", resolve));
  const stop = async () => {
    if (server.pid !== undefined && server.exitCode === null && server.signalCode === null) {
      process.kill(-server.pid, "SIGKILL");
      await exited;
    }
  };
  cleanup.add(stop);
  const base = `http://127.0.0.1:${port}`;
  let backend = "";
  for (let attempt = 0; attempt < 100 && !backend; attempt++) {
    try {
      backend = await (await fetch(`${base}/backend`)).text();
    } catch {
      if (server.exitCode !== null) throw new Error("workerd exited");
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  if (!backend) throw new Error("workerd did not answer");
  /** CPU seconds used so far by workerd: every process of its group, from /proc (Linux). */
  const group = server.pid;
  const ticks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  const cpuOfWorkerd = () => {
    let used = 0;
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      let stat;
      try {
        stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      } catch {
        continue; // Gone since the listing.
      }
      // After the command name in parentheses: state, ppid, pgrp, …, utime (14th), stime (15th).
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) === group) used += Number(fields[11]) + Number(fields[12]);
    }
    return used / ticks;
  };
  /** CPU seconds workerd spent on one request running `n` calls of `name`. */
  const cpuFor = async (/** @type {string} */ name, /** @type {number} */ n) => {
    const before = cpuOfWorkerd();
    const response = await fetch(`${base}/?contender=${encodeURIComponent(name)}&n=${n}`);
    if (!response.ok) throw new Error(`workerd: ${response.status} ${await response.text()}`);
    await response.text();
    return cpuOfWorkerd() - before;
  };
  /** @type {Record<string, number>} */
  const best = {};
  /** @type {Record<string, number>} */
  const batch = {};
  for (const name of names) {
    // Warm up, and size a batch to spend about a round's CPU time.
    const used = await cpuFor(name, 1000);
    batch[name] = Math.min(MAX_CALLS, Math.max(1000, Math.round((1000 * SECONDS) / Math.max(used, 0.01))));
  }
  const empty = Math.min(await cpuFor(names[0] ?? "", 0), await cpuFor(names[0] ?? "", 0));
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of names) {
      const n = batch[name] ?? 1000;
      const used = Math.max((await cpuFor(name, n)) - empty, 1 / ticks);
      best[name] = Math.max(best[name] ?? 0, n / used);
    }
  }
  await stop();
  const { version } = JSON.parse(readFileSync(join(root, "node_modules/workerd/package.json"), "utf8"));
  return { backend, version, best };
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), "prolong-edge-verify-"));
  cleanup.add(() => rmSync(dir, { recursive: true, force: true }));
  const tokens = [signedToken("EdDSA"), signedToken("ES256")];
  const input = {
    issuer: ISSUER,
    audience: AUDIENCE,
    tokens,
    seconds: SECONDS,
    rounds: ROUNDS,
    maxCalls: MAX_CALLS,
  };
  writeFileSync(join(dir, "input.json"), JSON.stringify(input));
  const names = tokens.flatMap(({ alg }) => [`${alg} prolong`, `${alg} jose`]);
  const web = ["worker", "browser"];

  /** @type {{ runtime: string, result: RuntimeResult, timing: string }[]} */
  const measured = [];
  for (const runtime of CHOSEN) {
    console.error(`edge-verify: ${runtime}…`);
    if (runtime === "node") {
      const webFile = await bundle(dir, "node-web", web, "neutral", SELF_TIMED);
      measured.push({
        runtime: "Node",
        result: await selfTimed(process.execPath, [webFile]),
        timing: "process.cpuUsage",
      });
      const nodeFile = await bundle(dir, "node-native", ["node"], "node", SELF_TIMED);
      measured.push({
        runtime: "Node",
        result: await selfTimed(process.execPath, [nodeFile]),
        timing: "process.cpuUsage",
      });
    } else if (runtime === "deno") {
      const file = await bundle(dir, "deno", ["deno", ...web], "neutral", SELF_TIMED);
      const env = { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" };
      measured.push({
        runtime: "Deno",
        result: await selfTimed(bin("deno"), ["run", "--no-prompt", "--no-config", file], env),
        timing: "process.cpuUsage",
      });
    } else if (runtime === "bun") {
      // Bun resolves `node` and would take node:crypto; the bundle holds the Web Crypto backend.
      const file = await bundle(dir, "bun", web, "neutral", SELF_TIMED);
      measured.push({
        runtime: "Bun",
        result: await selfTimed(bin("bun"), [file]),
        timing: "process.cpuUsage",
      });
    } else {
      const file = await bundle(dir, "worker", ["workerd", ...web], "neutral", WORKER);
      measured.push({
        runtime: "workerd",
        result: await onWorkerd(dir, file, names),
        timing: "/proc, per request",
      });
    }
  }

  /** @type {Row[]} */
  const rows = measured.flatMap(({ runtime, result, timing }) =>
    tokens.map(({ alg }) => ({
      runtime: result.version ? `${runtime} ${result.version.replace(/^v/, "")}` : runtime,
      backend: result.backend,
      alg,
      prolong: result.best[`${alg} prolong`] ?? 0,
      jose: result.best[`${alg} jose`] ?? 0,
      timing,
    })),
  );
  console.log(
    `verifications per CPU second, best of ${ROUNDS} rounds of about ${SECONDS} CPU s, uncached; ` +
      "the runtimes are those in node_modules",
  );
  printTable(
    ["runtime", "prolong backend", "alg", "prolong", "jose jwtVerify", "prolong / jose", "timed"],
    rows.map((r) => [
      r.runtime,
      r.backend,
      r.alg,
      fmt(r.prolong),
      fmt(r.jose),
      `${(r.prolong / r.jose).toFixed(2)}×`,
      r.timing,
    ]),
  );
  writeBenchResults("edge-verify", {
    unit: "verifications per CPU second",
    options: { secondsPerRound: SECONDS, rounds: ROUNDS },
    rows: rows.map((r) => ({ ...r, prolongToJose: r.prolong / r.jose })),
    plots: [],
  });
}

try {
  await main();
} catch (error) {
  if (!cleanup.interrupted) {
    console.error(error);
    process.exitCode = 1;
  }
} finally {
  await cleanup.run();
}

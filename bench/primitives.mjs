// Microseconds per call of the primitives on the server's refresh path: WebCrypto
// (crypto.subtle, which hops to the libuv thread pool on Node) against node:crypto,
// jose's SignJWT against prolong's signer, and a whole RefreshTokenCodec open + next
// against the same steps done on crypto.subtle (the codec's former implementation).
// Run after `npm run build`: node bench/primitives.mjs [--seconds 0.3] [--rounds 7]
// Prints a table and writes bench/results/primitives.json. Nothing here is asserted,
// and it never runs inside `npm test`.
import { createHash, createHmac, createSecretKey } from "node:crypto";
import { cpus } from "node:os";
import { RefreshTokenCodec, signAccessToken } from "@prolong/core";
/** @typedef {import("@prolong/core").RingKey} RingKey */
/** @typedef {import("@prolong/protocol").SigningAlg} SigningAlg */
import { generateKeyPair, SignJWT } from "jose";
import { benchOptions } from "./lib/args.mjs";
import { printTable, writeResults } from "./lib/report.mjs";

/** Each cell is measured `rounds` times for `seconds`, interleaved with its rival, and the
 * best round is kept: on a shared machine, interference only ever slows a round down. */
const { seconds: SECONDS, rounds: ROUNDS } = benchOptions({
  seconds: { type: "number", default: 0.3, quick: 0.1, min: 0.01, max: 60 },
  rounds: { type: "number", default: 7, quick: 2, min: 1, max: 100, integer: true },
});

/** @typedef {() => unknown} Contender one call of one side, awaited */
/** @typedef {{ webcrypto: Contender, node: Contender }} Rivals */

/**
 * Runs `fn` (awaited one call at a time, as one request would) and returns µs per call:
 * `wall`, the latency a request sees, and `cpu`, the process's CPU time on all its threads
 * (thread-pool work included), which other load on the machine disturbs far less.
 * @param {Contender} fn
 */
async function measure(fn) {
  const run = async (/** @type {number} */ ms) => {
    let calls = 0;
    const cpu = process.cpuUsage();
    const start = process.hrtime.bigint();
    const end = start + BigInt(Math.round(ms * 1e6));
    let t = start;
    while (t < end) {
      for (let i = 0; i < 100; i++) await fn();
      calls += 100;
      t = process.hrtime.bigint();
    }
    const used = process.cpuUsage(cpu);
    return { wall: Number(t - start) / 1e3 / calls, cpu: (used.user + used.system) / calls };
  };
  await run(50);
  return run(SECONDS * 1000);
}

/**
 * @param {boolean} ok
 * @param {string} what
 */
function check(ok, what) {
  if (!ok) throw new Error(`${what}: the two contenders disagree`);
}

const secret = crypto.getRandomValues(new Uint8Array(32));
const message = crypto.getRandomValues(new Uint8Array(96)); // label + refresh-token body
const text = Buffer.from(crypto.getRandomValues(new Uint8Array(68))).toString("base64url"); // a token
const subtleKey = await crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, [
  "sign",
]);
const nodeKey = createSecretKey(secret);
const encoder = new TextEncoder();

const subtleHmac = async () => new Uint8Array(await crypto.subtle.sign("HMAC", subtleKey, message));
const nodeHmac = () => createHmac("sha256", nodeKey).update(message).digest();
check(Buffer.from(await subtleHmac()).equals(nodeHmac()), "HMAC-SHA256");
const subtleSha = async () =>
  Buffer.from(await crypto.subtle.digest("SHA-256", encoder.encode(text))).toString("base64url");
const nodeSha = () => createHash("sha256").update(text).digest("base64url");
check((await subtleSha()) === nodeSha(), "SHA-256");

const now = Math.floor(Date.now() / 1000);
const claims = {
  iss: "https://auth.example.test",
  sub: "user-42",
  aud: "prolong",
  exp: now + 300,
  iat: now,
  jti: "mWk0y2w1c3R0b2tlbi1pZA",
  client_id: "web",
  sid: "8O_u7ezr6uno5-bl5OPi4Q",
  ver: 3,
  auth_time: now - 3600,
  rfa: now + 240,
  roles: ["reader"],
};
/**
 * An active key of the ring, as signAccessToken takes it.
 * @param {SigningAlg} alg
 * @returns {Promise<RingKey>}
 */
async function ringKey(alg) {
  const pair = alg === "HS256" ? null : await generateKeyPair(alg, alg === "EdDSA" ? { crv: "Ed25519" } : {});
  return {
    kid: `bench-${alg}`,
    alg,
    state: "active",
    signingKey: pair?.privateKey ?? secret,
    verificationKey: pair?.publicKey ?? secret,
    publicJwk: null,
    createdAt: Date.now(),
    activatedAt: Date.now(),
    retiredAt: null,
  };
}
/** @type {Record<string, { webcrypto: () => Promise<string>, node: () => string }>} */
const signers = {};
for (const alg of /** @type {const} */ (["EdDSA", "ES256", "RS256", "HS256"])) {
  const key = await ringKey(alg);
  const header = { alg, typ: "at+jwt", kid: key.kid };
  const pair = {
    webcrypto: () => new SignJWT(claims).setProtectedHeader(header).sign(key.signingKey),
    node: () => signAccessToken(key, claims),
  };
  signers[`sign ${alg}`] = pair;
  // Deterministic schemes must give the very same token; ES256 signatures are randomized.
  const [a, b] = [await pair.webcrypto(), pair.node()];
  check(alg === "ES256" ? a.split(".", 2).join() === b.split(".", 2).join() : a === b, `sign ${alg}`);
}

// open + next as the codec did it on crypto.subtle: decode, check the tag, derive the
// successor's secret, tag it, hash both tokens (3 HMAC + 2 SHA-256, see refresh-token.ts).
const codec = await RefreshTokenCodec.create(secret);
const issued = await codec.issue("8O_u7ezr6uno5-bl5OPi4Q", {
  bytes: (n) => crypto.getRandomValues(new Uint8Array(n)),
});
const TAG = encoder.encode("prolong refresh-token tag\0");
const NEXT = encoder.encode("prolong refresh-token next\0");
const mac = async (/** @type {Uint8Array} */ label, /** @type {Uint8Array} */ data) =>
  new Uint8Array(await crypto.subtle.sign("HMAC", subtleKey, Buffer.concat([label, data])));
const digest = async (/** @type {string} */ value) =>
  Buffer.from(await crypto.subtle.digest("SHA-256", encoder.encode(value))).toString("base64url");
/** @param {string} value */
async function subtleOpenNext(value) {
  const bytes = Buffer.from(value, "base64url");
  const body = bytes.subarray(0, 52);
  const tag = (await mac(TAG, body)).subarray(0, 16);
  if (!tag.every((byte, i) => byte === bytes[52 + i])) throw new Error("tag mismatch");
  await digest(value);
  const next = Buffer.concat([
    body.subarray(0, 16),
    Buffer.alloc(4),
    (await mac(NEXT, body)).subarray(0, 32),
  ]);
  next.writeUInt32BE(body.readUInt32BE(16) + 1, 16);
  const successor = Buffer.concat([next, (await mac(TAG, next)).subarray(0, 16)]).toString("base64url");
  return { value: successor, hash: await digest(successor) };
}
const codecOpenNext = async () => {
  const opened = await codec.open(issued.value);
  if (opened === null) throw new Error("the codec refused the token it issued");
  return codec.next(opened);
};
const [viaSubtle, viaCodec] = [await subtleOpenNext(issued.value), await codecOpenNext()];
check(viaSubtle.value === viaCodec.value && viaSubtle.hash === viaCodec.hash, "refresh-token open + next");

/** @type {Record<string, Rivals>} */
const rivals = {
  "HMAC-SHA256": { webcrypto: subtleHmac, node: nodeHmac },
  "SHA-256 (base64url)": { webcrypto: subtleSha, node: nodeSha },
  ...signers,
  "refresh token open + next": { webcrypto: () => subtleOpenNext(issued.value), node: codecOpenNext },
};
const results = [];
for (const [operation, pair] of Object.entries(rivals)) {
  const row = {
    operation,
    wall: { webcrypto: Number.POSITIVE_INFINITY, node: Number.POSITIVE_INFINITY },
    cpu: { webcrypto: Number.POSITIVE_INFINITY, node: Number.POSITIVE_INFINITY },
  };
  for (let round = 0; round < ROUNDS; round++) {
    for (const side of /** @type {const} */ (["webcrypto", "node"])) {
      const { wall, cpu } = await measure(pair[side]);
      row.wall[side] = Math.min(row.wall[side], wall);
      row.cpu[side] = Math.min(row.cpu[side], cpu);
    }
  }
  results.push(row);
}

const header = [
  "operation",
  "WebCrypto / jose",
  "node:crypto",
  "speed-up",
  "CPU WebCrypto / jose",
  "CPU node:crypto",
];
const lines = results.map((r) => [
  r.operation,
  r.wall.webcrypto.toFixed(1),
  r.wall.node.toFixed(1),
  `${(r.wall.webcrypto / r.wall.node).toFixed(1)}x`,
  r.cpu.webcrypto.toFixed(1),
  r.cpu.node.toFixed(1),
]);
console.log(
  `µs per call (wall clock, then process CPU time), one call at a time, best of ${ROUNDS} x ${SECONDS} s, node ${process.version}`,
);
printTable(header, lines);
writeResults("primitives", {
  node: process.version,
  cpu: cpus()[0]?.model,
  secondsPerRound: SECONDS,
  rounds: ROUNDS,
  unit: "microseconds per call",
  results,
});

// Access-token verifications per second: raw node:crypto on a prepared key, the least any
// JWT verifier must do (split, decode, signature, JSON.parse: no checks), prolong's
// verifier (uncached and cached), jose's jwtVerify and fast-jwt, for EdDSA, ES256, RS256
// and HS256.
// Run after `npm run build`: node bench/verify.mjs [--seconds 0.3] [--rounds 7]
// Prints a table and writes bench/results/verify.json. Figures are ratios within one run
// on one machine; nothing here is asserted, and it never runs inside `npm test`.
//
// Rates are calls per CPU second of this process (process.cpuUsage), not per wall second:
// on a machine shared with other work, CPU time is what a contender costs, and a round
// that lost the CPU to another process does not count against it.
import { createHmac, generateKeyPairSync, randomBytes, sign, timingSafeEqual, verify } from "node:crypto";
import { createVerifier } from "@prolong/verify";
import { createVerifier as fastJwtVerifier } from "fast-jwt";
import { importJWK, jwtVerify } from "jose";
import { AUDIENCE, accessTokenClaims, ISSUER } from "./lib/access-token.mjs";
import { benchOptions } from "./lib/args.mjs";
import { fmt, printTable } from "./lib/report.mjs";
import { writeBenchResults } from "./lib/results.mjs";

/** Each cell is measured `ROUNDS` times for `SECONDS`, interleaved with the other contenders,
 * and the best round is kept: on a shared machine, interference only ever slows a round down. */
const { seconds: SECONDS, rounds: ROUNDS } = benchOptions({
  seconds: { type: "number", default: 0.3, quick: 0.1, min: 0.01, max: 60 },
  rounds: { type: "number", default: 7, quick: 2, min: 1, max: 100, integer: true },
});

/** @typedef {"EdDSA" | "ES256" | "RS256" | "HS256"} Alg */
/** @typedef {import("jose").JWK & { kid: string, alg: Alg }} Jwk */
/**
 * An HMAC secret (HS256), or a key pair; the public side as a JWK either way.
 * @typedef {{ secret: Buffer, jwk: Jwk }
 *   | { privateKey: import("node:crypto").KeyObject, publicKey: import("node:crypto").KeyObject, jwk: Jwk }} Keys
 */
/** @typedef {{ alg: Alg, raw: number, floor: number, prolong: number, prolongCached: number, jose: number,
 *   fastJwt: number }} Row */

/**
 * @param {Alg} alg
 * @returns {Keys}
 */
function keysFor(alg) {
  if (alg === "HS256") {
    const secret = randomBytes(32);
    return { secret, jwk: { kty: "oct", k: secret.toString("base64url"), kid: "k1", alg } };
  }
  const pair =
    alg === "EdDSA"
      ? generateKeyPairSync("ed25519")
      : alg === "ES256"
        ? generateKeyPairSync("ec", { namedCurve: "P-256" })
        : generateKeyPairSync("rsa", { modulusLength: 2048 });
  return {
    privateKey: pair.privateKey,
    publicKey: pair.publicKey,
    jwk: {
      .../** @type {import("jose").JWK} */ (pair.publicKey.export({ format: "jwk" })),
      kid: "k1",
      alg,
      use: "sig",
    },
  };
}

/**
 * A token shaped like the ones prolong issues (docs/protocol.md), signed with node:crypto.
 * @param {Alg} alg
 * @param {Keys} keys
 */
function tokenFor(alg, keys) {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg, typ: "at+jwt", kid: "k1" };
  const claims = accessTokenClaims(now);
  const input = `${Buffer.from(JSON.stringify(header)).toString("base64url")}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
  const data = Buffer.from(input);
  const signature =
    "secret" in keys
      ? createHmac("sha256", keys.secret).update(data).digest()
      : alg === "EdDSA"
        ? sign(null, data, keys.privateKey)
        : alg === "ES256"
          ? sign("sha256", data, { key: keys.privateKey, dsaEncoding: "ieee-p1363" })
          : sign("sha256", data, keys.privateKey);
  return { token: `${input}.${signature.toString("base64url")}`, data, signature };
}

/**
 * Runs `fn` in batches for SECONDS (after a short warm-up) and returns calls per CPU second.
 * @param {() => unknown} fn
 * @param {boolean} isAsync
 */
async function measure(fn, isAsync) {
  const batch = 200;
  const run = async (/** @type {number} */ ms) => {
    let calls = 0;
    const cpu = process.cpuUsage();
    const end = process.hrtime.bigint() + BigInt(Math.round(ms * 1e6));
    while (process.hrtime.bigint() < end) {
      if (isAsync) for (let i = 0; i < batch; i++) await fn();
      else for (let i = 0; i < batch; i++) fn();
      calls += batch;
    }
    const used = process.cpuUsage(cpu);
    return calls / ((used.user + used.system) / 1e6);
  };
  await run(50);
  return run(SECONDS * 1000);
}

/**
 * @param {boolean} ok
 * @param {string} what
 */
function check(ok, what) {
  if (!ok) throw new Error(`${what} did not accept the benchmark token`);
}

/** @type {Alg[]} */
const ALGS = ["EdDSA", "ES256", "RS256", "HS256"];
/** @type {Row[]} */
const results = [];
for (const alg of ALGS) {
  const keys = keysFor(alg);
  const { token, data, signature } = tokenFor(alg, keys);

  const raw =
    "secret" in keys
      ? () => timingSafeEqual(createHmac("sha256", keys.secret).update(data).digest(), signature)
      : alg === "EdDSA"
        ? () => verify(null, data, keys.publicKey, signature)
        : alg === "ES256"
          ? () => verify("sha256", data, { key: keys.publicKey, dsaEncoding: "ieee-p1363" }, signature)
          : () => verify("sha256", data, keys.publicKey, signature);
  check(raw(), "raw crypto.verify");

  const options = { issuer: ISSUER, audience: AUDIENCE, keys: [keys.jwk], algorithms: [alg] };
  const cold = await createVerifier(options);
  const cached = await createVerifier({ ...options, cacheSize: 1000 });
  check((await cold.verify(token)).ok, "prolong");
  check((await cached.verify(token)).ok, "prolong (cached)");

  const joseKey = await importJWK(keys.jwk, alg);
  const joseOptions = { issuer: ISSUER, audience: AUDIENCE, algorithms: [alg], typ: "at+jwt" };
  check((await jwtVerify(token, joseKey, joseOptions)).payload.sub === "user-42", "jose");

  const fastKey =
    "secret" in keys ? keys.secret : keys.publicKey.export({ format: "pem", type: "spki" }).toString();
  const fast = fastJwtVerifier({
    key: fastKey,
    algorithms: [alg],
    allowedIss: ISSUER,
    allowedAud: AUDIENCE,
    cache: false,
  });
  check(fast(token).sub === "user-42", "fast-jwt");

  // The floor: what every verifier of this token must do at least, and nothing more.
  const [headerPart = "", payloadPart = "", signaturePart = ""] = token.split(".");
  const signed = `${headerPart}.${payloadPart}`;
  const floor =
    "secret" in keys
      ? () =>
          timingSafeEqual(
            createHmac("sha256", keys.secret).update(signed, "latin1").digest(),
            Buffer.from(signaturePart, "base64url"),
          ) && JSON.parse(Buffer.from(payloadPart, "base64url").toString())
      : () => {
          const data = Buffer.from(signed, "latin1");
          const sig = Buffer.from(signaturePart, "base64url");
          const ok =
            alg === "EdDSA"
              ? verify(null, data, keys.publicKey, sig)
              : alg === "ES256"
                ? verify("sha256", data, { key: keys.publicKey, dsaEncoding: "ieee-p1363" }, sig)
                : verify("sha256", data, keys.publicKey, sig);
          return ok && JSON.parse(Buffer.from(payloadPart, "base64url").toString());
        };
  check(floor().sub === "user-42", "the floor");

  /** @type {Record<Exclude<keyof Row, "alg">, [() => unknown, boolean]>} */
  const contenders = {
    raw: [raw, false],
    floor: [floor, false],
    prolong: [() => cold.verify(token), true],
    prolongCached: [() => cached.verify(token), true],
    jose: [() => jwtVerify(token, joseKey, joseOptions), true],
    fastJwt: [() => fast(token), false],
  };
  /** @type {Row} */
  const row = { alg, raw: 0, floor: 0, prolong: 0, prolongCached: 0, jose: 0, fastJwt: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, [fn, isAsync]] of /** @type {[keyof typeof contenders, [() => unknown, boolean]][]} */ (
      Object.entries(contenders)
    )) {
      row[name] = Math.max(row[name], await measure(fn, isAsync));
    }
  }
  results.push(row);
}

const ratio = (/** @type {number} */ n, /** @type {number} */ d) => `${(n / d).toFixed(2)}×`;
const header = [
  "alg",
  "raw crypto",
  "floor",
  "prolong",
  "prolong cached",
  "jose",
  "fast-jwt",
  "prolong/fast-jwt",
  "prolong/jose",
  "prolong/raw",
  "floor/raw",
];
const lines = results.map((r) => [
  r.alg,
  fmt(r.raw),
  fmt(r.floor),
  fmt(r.prolong),
  fmt(r.prolongCached),
  fmt(r.jose),
  fmt(r.fastJwt),
  ratio(r.prolong, r.fastJwt),
  ratio(r.prolong, r.jose),
  ratio(r.prolong, r.raw),
  ratio(r.floor, r.raw),
]);
console.log(
  `verifications per CPU second, best of ${ROUNDS} rounds of ${SECONDS} s, node ${process.version}`,
);
printTable(header, lines);
console.log(
  "raw: node:crypto alone on prepared bytes and key; floor: split, base64url-decode, check the signature, JSON.parse the claims, no other check; prolong cached: a repeat of the same token",
);
const hs = results.find((r) => r.alg === "HS256");
console.log("\ntargets:");
for (const r of results)
  console.log(
    `  prolong ≥ 1.0× fast-jwt, ${r.alg}: ${ratio(r.prolong, r.fastJwt)} ${r.prolong >= r.fastJwt ? "met" : "missed"}`,
  );
if (hs)
  console.log(
    `  prolong ≥ 0.6× raw crypto, HS256: ${ratio(hs.prolong, hs.raw)} ${hs.prolong >= 0.6 * hs.raw ? "met" : "missed"} (the floor, with no check at all: ${ratio(hs.floor, hs.raw)})`,
  );

const rows = results.map((r) => ({
  ...r,
  prolongToFastJwt: r.prolong / r.fastJwt,
  prolongToJose: r.prolong / r.jose,
  prolongToRaw: r.prolong / r.raw,
  floorToRaw: r.floor / r.raw,
}));
writeBenchResults("verify", {
  unit: "verifications per CPU second",
  options: { secondsPerRound: SECONDS, rounds: ROUNDS },
  rows,
  plots: [
    {
      id: "verify-vs-raw",
      title: "Verifying an access token, as a share of raw node:crypto",
      unit: "× raw crypto (higher is better)",
      note: `verifications per CPU second ÷ node:crypto's signature check alone; uncached; best of ${ROUNDS} × ${SECONDS} s`,
      bars: results.flatMap((r) =>
        /** @type {[string, number][]} */ ([
          ["prolong", r.prolong],
          ["fast-jwt", r.fastJwt],
          ["jose", r.jose],
        ]).map(([name, value]) => ({
          label: `${r.alg} · ${name}`,
          value: Math.round((value / r.raw) * 100) / 100,
          group: name,
        })),
      ),
    },
  ],
});

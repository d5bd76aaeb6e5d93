// Access-token verifications per second: raw node:crypto on a prepared key, prolong's
// verifier (uncached and cached), jose's jwtVerify and fast-jwt, for EdDSA, ES256, RS256, HS256.
// Run after `npm run build`: node bench/verify.mjs [--seconds 0.3] [--rounds 7]
// Prints a table and writes bench/results/verify.json. Figures are ratios within one run
// on one machine; nothing here is asserted, and it never runs inside `npm test`.
import { createHmac, generateKeyPairSync, randomBytes, sign, timingSafeEqual, verify } from "node:crypto";
import { cpus } from "node:os";
import { createVerifier } from "@prolong/verify";
import { createVerifier as fastJwtVerifier } from "fast-jwt";
import { importJWK, jwtVerify } from "jose";
import { printTable, writeResults } from "./lib/report.mjs";

const option = (name, fallback) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
/** Each cell is measured `ROUNDS` times for `SECONDS`, interleaved with the other contenders,
 * and the best round is kept: on a shared machine, interference only ever slows a round down. */
const SECONDS = option("--seconds", 0.3);
const ROUNDS = option("--rounds", 7);
const ISSUER = "https://auth.example.test";
const AUDIENCE = "prolong";

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
    jwk: { ...pair.publicKey.export({ format: "jwk" }), kid: "k1", alg, use: "sig" },
  };
}

/** A token shaped like the ones prolong issues (docs/protocol.md), signed with node:crypto. */
function tokenFor(alg, keys) {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg, typ: "at+jwt", kid: "k1" };
  const claims = {
    iss: ISSUER,
    sub: "user-42",
    aud: AUDIENCE,
    exp: now + 300,
    iat: now,
    jti: "3f2a9c1e-7b4d-4e8a-9c0f-5d6e7f8a9b0c",
    client_id: "web",
    sid: "sess-8d7c6b5a",
    ver: 3,
    auth_time: now - 3600,
    rfa: now + 240,
    roles: ["reader"],
  };
  const input = `${Buffer.from(JSON.stringify(header)).toString("base64url")}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
  const data = Buffer.from(input);
  const signature =
    alg === "HS256"
      ? createHmac("sha256", keys.secret).update(data).digest()
      : alg === "EdDSA"
        ? sign(null, data, keys.privateKey)
        : alg === "ES256"
          ? sign("sha256", data, { key: keys.privateKey, dsaEncoding: "ieee-p1363" })
          : sign("sha256", data, keys.privateKey);
  return { token: `${input}.${signature.toString("base64url")}`, data, signature };
}

/** Runs `fn` in batches for SECONDS (after a short warm-up) and returns calls per second. */
async function measure(fn, isAsync) {
  const batch = 200;
  const run = async (ms) => {
    let calls = 0;
    const start = process.hrtime.bigint();
    const end = start + BigInt(Math.round(ms * 1e6));
    let t = start;
    while (t < end) {
      if (isAsync) for (let i = 0; i < batch; i++) await fn();
      else for (let i = 0; i < batch; i++) fn();
      calls += batch;
      t = process.hrtime.bigint();
    }
    return calls / (Number(t - start) / 1e9);
  };
  await run(50);
  return run(SECONDS * 1000);
}

function check(ok, what) {
  if (!ok) throw new Error(`${what} did not accept the benchmark token`);
}

const ALGS = ["EdDSA", "ES256", "RS256", "HS256"];
const results = [];
for (const alg of ALGS) {
  const keys = keysFor(alg);
  const { token, data, signature } = tokenFor(alg, keys);

  const raw =
    alg === "HS256"
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
    alg === "HS256" ? keys.secret : keys.publicKey.export({ format: "pem", type: "spki" }).toString();
  const fast = fastJwtVerifier({
    key: fastKey,
    algorithms: [alg],
    allowedIss: ISSUER,
    allowedAud: AUDIENCE,
    cache: false,
  });
  check(fast(token).sub === "user-42", "fast-jwt");

  const contenders = {
    raw: [raw, false],
    prolong: [() => cold.verify(token), true],
    prolongCached: [() => cached.verify(token), true],
    jose: [() => jwtVerify(token, joseKey, joseOptions), true],
    fastJwt: [() => fast(token), false],
  };
  const row = { alg };
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, [fn, isAsync]] of Object.entries(contenders)) {
      row[name] = Math.max(row[name] ?? 0, await measure(fn, isAsync));
    }
  }
  results.push(row);
}

const fmt = (n) => Math.round(n).toLocaleString("en-US");
const ratio = (n, d) => `${(n / d).toFixed(2)}x`;
const header = [
  "alg",
  "raw crypto",
  "prolong",
  "prolong cached",
  "jose",
  "fast-jwt",
  "prolong/jose",
  "prolong/fast-jwt",
];
const lines = results.map((r) => [
  r.alg,
  fmt(r.raw),
  `${fmt(r.prolong)} (${ratio(r.prolong, r.raw)})`,
  `${fmt(r.prolongCached)} (${ratio(r.prolongCached, r.raw)})`,
  `${fmt(r.jose)} (${ratio(r.jose, r.raw)})`,
  `${fmt(r.fastJwt)} (${ratio(r.fastJwt, r.raw)})`,
  ratio(r.prolong, r.jose),
  ratio(r.prolong, r.fastJwt),
]);
console.log(
  `verifications per second (ratio to raw crypto), best of ${ROUNDS} x ${SECONDS} s, node ${process.version}`,
);
printTable(header, lines);
writeResults("verify", {
  node: process.version,
  cpu: cpus()[0]?.model,
  secondsPerRound: SECONDS,
  rounds: ROUNDS,
  unit: "verifications per second",
  results,
});

import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
} from "node:crypto";
import { createServer, type Server } from "node:http";
import { createRevocationFeed, createVerifier, type RevocationFeed } from "@prolong/verify";
import type { JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REALM, type ResourceServer, startResourceServers } from "./adapters.js";
import {
  AUDIENCE,
  claimsOf,
  createAccount,
  eventually,
  FORM,
  RESOURCE_SECRET,
  readStoreSecrets,
  type SignedIn,
  signIn,
  sleep,
  startTarget,
  type Target,
} from "./target.js";

/**
 * Forged and damaged access tokens, each sent to every gate that checks access tokens:
 * the server's own bearer routes (GET /sessions), its introspection endpoint, and a real
 * resource server per framework adapter of @prolong/verify, fed by the server's JWKS and
 * revocation feed. Most forgeries are signed with the server's own private key, read from
 * its store: each is then refused for the one flaw it carries, not for its signature.
 */

const PASSWORD = "correct horse battery staple";
const b64 = (data: string | Buffer) => Buffer.from(data).toString("base64url");
const now = () => Math.floor(Date.now() / 1000);

/** What a gate must answer. */
type Verdict = "accepted" | "invalid" | "expired" | "malformed" | "header too large" | "no credentials";

interface Seen {
  status: number;
  /** `WWW-Authenticate`, or null. */
  challenge: string | null;
  /** The body's `error`; for introspection `active` or `inactive`. */
  error: string | null;
}

interface Gate {
  name: string;
  ask(token: string): Promise<Seen>;
  expected(verdict: Verdict): Seen;
  /** Bearer-protected gates: the answer to exactly this Authorization header (none when null). */
  askWith?(authorization: string | null): Promise<Seen>;
}

const challenge = (realm: string, description: string) =>
  `Bearer realm="${realm}", error="invalid_token", error_description="${description}"`;

/**
 * RFC 6750 §3 answers of a bearer-protected route in realm `realm`; `malformed` and
 * `tooLarge` differ between prolong and the frameworks the adapters run in.
 */
function bearerAnswers(realm: string, malformed: Seen, tooLarge: Seen): (verdict: Verdict) => Seen {
  return (verdict) => {
    switch (verdict) {
      case "accepted":
        return { status: 200, challenge: null, error: null };
      // RFC 6750 §3.1: no error attribute when no bearer credentials came.
      case "no credentials":
        return { status: 401, challenge: `Bearer realm="${realm}"`, error: "unauthorized" };
      case "invalid":
      case "expired":
        return {
          status: 401,
          challenge: challenge(realm, verdict),
          error: "invalid_token",
        };
      case "malformed":
        return malformed;
      case "header too large":
        // Node's HTTP parser refuses headers over 16 KiB before any route runs.
        return tooLarge;
    }
  };
}

function bearerGate(name: string, url: string, answers: (verdict: Verdict) => Seen): Gate {
  const askWith = async (authorization: string | null): Promise<Seen> => {
    const response = await fetch(url, authorization === null ? {} : { headers: { authorization } });
    const text = await response.text();
    let error: string | null = null;
    if (response.status !== 200 && text.startsWith("{"))
      error = (JSON.parse(text) as { error?: string }).error ?? null;
    return { status: response.status, challenge: response.headers.get("www-authenticate"), error };
  };
  return { name, ask: (token) => askWith(`Bearer ${token}`), askWith, expected: answers };
}

/** RFC 7662 introspection by a resource server: inactive for every token a gate refuses. */
function introspectionGate(target: Target): Gate {
  const basic = `Basic ${Buffer.from(`resource:${RESOURCE_SECRET}`).toString("base64")}`;
  return {
    name: "prolong POST /oauth/introspect",
    async ask(token) {
      const response = await fetch(`${target.url}/oauth/introspect`, {
        method: "POST",
        headers: { authorization: basic, "content-type": FORM },
        body: new URLSearchParams({ token, token_type_hint: "access_token" }),
      });
      const body = (await response.json()) as { active?: boolean; error?: string };
      const error =
        body.active === true ? "active" : body.active === false ? "inactive" : (body.error ?? null);
      return { status: response.status, challenge: response.headers.get("www-authenticate"), error };
    },
    expected: (verdict) => {
      if (verdict === "accepted") return { status: 200, challenge: null, error: "active" };
      // In a form body a token this long passes the header limit and meets the body limit.
      if (verdict === "header too large") return { status: 413, challenge: null, error: "invalid_request" };
      return { status: 200, challenge: null, error: "inactive" };
    },
  };
}

interface KeyPair {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** Signs `input` as a JWS of `alg` (ES256 as R||S, RFC 7518 §3.4). */
function signature(alg: string, key: KeyObject, input: string): Buffer {
  if (alg === "EdDSA") return sign(null, Buffer.from(input), key);
  return sign("sha256", Buffer.from(input), { key, dsaEncoding: "ieee-p1363" });
}

function attackerKeyPair(alg: string): KeyPair {
  const pair =
    alg === "EdDSA" ? generateKeyPairSync("ed25519") : generateKeyPairSync("ec", { namedCurve: "P-256" });
  return { kid: "attacker-key", ...pair };
}

/** The order of P-256 (SEC 2 §2.4.2) and of the Ed25519 group (RFC 8032 §5.1). */
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const ED25519_L = 2n ** 252n + 27742317777372353535851937790883648493n;

const toBigEndian = (value: bigint, bytes: number) =>
  Buffer.from(value.toString(16).padStart(bytes * 2, "0"), "hex");

/** An ECDSA signature R||S in the DER form of X.509 (which JWS does not use). */
function derSignature(raw: Buffer): Buffer {
  const integer = (bytes: Buffer) => {
    let trimmed = bytes;
    while (trimmed.length > 1 && trimmed[0] === 0 && (trimmed[1] as number) < 0x80)
      trimmed = trimmed.subarray(1);
    if ((trimmed[0] as number) >= 0x80) trimmed = Buffer.concat([Buffer.from([0]), trimmed]);
    return Buffer.concat([Buffer.from([0x02, trimmed.length]), trimmed]);
  };
  const body = Buffer.concat([integer(raw.subarray(0, 32)), integer(raw.subarray(32))]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

/** Ed25519's S (little-endian, the second half) plus the group order: the same point, a second spelling. */
function ed25519PlusL(raw: Buffer): Buffer {
  const s = BigInt(`0x${Buffer.from(raw.subarray(32)).reverse().toString("hex")}`);
  const bumped = toBigEndian(s + ED25519_L, 32).reverse();
  return Buffer.concat([raw.subarray(0, 32), bumped]);
}

/** The flipped last character of a base64url text: the same bytes when its low bits are unused. */
function twinOf(text: string): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const last = alphabet.indexOf(text.at(-1) as string);
  return `${text.slice(0, -1)}${alphabet[last ^ 1]}`;
}

const nested = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;

interface Forgery {
  name: string;
  token: () => string;
  verdict: Verdict;
}

for (const alg of ["EdDSA", "ES256"] as const) {
  describe(`access tokens of a server signing with ${alg}, at every gate`, () => {
    let target: Target;
    let server: KeyPair & { jwk: JWK };
    const attacker = attackerKeyPair(alg);
    let alice: SignedIn;
    let bob: SignedIn;
    let feed: RevocationFeed;
    let resourceServers: ResourceServer[] = [];
    let gates: Gate[] = [];
    /** A server that would serve the attacker's keys, if anyone followed `jku` or `x5u` there. */
    let keyHost: Server;
    let keyHostUrl = "";
    let keyHostHits = 0;

    beforeAll(async () => {
      keyHost = createServer((_request, response) => {
        keyHostHits += 1;
        const jwk = { ...(attacker.publicKey.export({ format: "jwk" }) as JWK), kid: attacker.kid, alg };
        response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk] }));
      });
      await new Promise<void>((resolve) => keyHost.listen(0, "127.0.0.1", resolve));
      keyHostUrl = `http://127.0.0.1:${(keyHost.address() as { port: number }).port}`;

      // Native access tokens live 1 s so that one can expire under a retired key below;
      // no clock tolerance, at the server as at the resource servers.
      target = await startTarget({ alg, clockTolerance: 0, profiles: { native: { accessTokenTtl: 1 } } });
      await createAccount(target, "alice", PASSWORD);
      await createAccount(target, "bob", PASSWORD);
      alice = await signIn(target, { username: "alice", password: PASSWORD, client_id: "web" });
      bob = await signIn(target, { username: "bob", password: PASSWORD, client_id: "web" });
      const { active } = await readStoreSecrets(target);
      const privateKey = createPrivateKey({ key: JSON.parse(active.privateKey), format: "jwk" });
      server = {
        kid: active.kid,
        privateKey,
        publicKey: createPublicKey(privateKey),
        jwk: JSON.parse(active.publicJwk as string) as JWK,
      };

      feed = createRevocationFeed({
        url: `${target.url}/revocations/feed`,
        credentials: { secret: RESOURCE_SECRET },
        minBackoffMs: 50,
        maxBackoffMs: 200,
      });
      await feed.waitUntilLive();
      resourceServers = await startResourceServers(() =>
        createVerifier({
          issuer: target.issuer,
          audience: AUDIENCE,
          jwksUri: `${target.url}/.well-known/jwks.json`,
          revocations: feed,
          clockTolerance: 0,
        }),
      );
      const serverMalformed: Seen = {
        status: 400,
        challenge: 'Bearer realm="prolong", error="invalid_request"',
        error: "invalid_request",
      };
      const adapterMalformed: Seen = {
        status: 400,
        challenge: `Bearer realm="${REALM}", error="invalid_request", error_description="malformed Authorization header"`,
        error: "invalid_request",
      };
      const tooLarge = (error: string | null): Seen => ({ status: 431, challenge: null, error });
      gates = [
        bearerGate(
          "prolong GET /sessions",
          `${target.url}/sessions`,
          bearerAnswers("prolong", serverMalformed, tooLarge("invalid_request")),
        ),
        introspectionGate(target),
        ...resourceServers.map((rs) =>
          bearerGate(
            `@prolong/verify/${rs.framework}`,
            `${rs.url}/api`,
            // The framework's own answer, not the adapter's: Fastify's has a body, Node's none.
            bearerAnswers(
              REALM,
              adapterMalformed,
              tooLarge(rs.framework === "fastify" ? "Request Header Fields Too Large" : null),
            ),
          ),
        ),
      ];
    }, 60_000);

    afterAll(async () => {
      for (const rs of resourceServers) await rs.close();
      await feed?.close();
      await target?.stop();
      await new Promise((resolve) => keyHost?.close(resolve));
    });

    /** Alice's claims as the server issues them, freshly dated, with `overrides` (undefined deletes). */
    function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
      const issued = claimsOf(alice.access_token);
      const at = now();
      const merged: Record<string, unknown> = {
        ...issued,
        iat: at,
        exp: at + 120,
        rfa: at + 96,
        ...overrides,
      };
      for (const [name, value] of Object.entries(merged)) if (value === undefined) delete merged[name];
      return merged;
    }

    const header = (overrides: Record<string, unknown> = {}) => {
      const merged: Record<string, unknown> = { alg, typ: "at+jwt", kid: server.kid, ...overrides };
      for (const [name, value] of Object.entries(merged)) if (value === undefined) delete merged[name];
      return merged;
    };

    /** A compact JWS of raw header and payload texts, signed by `key` as `alg`. */
    function jwsOf(headerText: string, payloadText: string, key: KeyObject = server.privateKey): string {
      const input = `${b64(headerText)}.${b64(payloadText)}`;
      return `${input}.${signature(alg, key, input).toString("base64url")}`;
    }

    /** Signed with the server's own key. */
    const insider = (h: Record<string, unknown> = {}, c: Record<string, unknown> = {}) =>
      jwsOf(JSON.stringify(header(h)), JSON.stringify(claims(c)));

    /** Signed with the attacker's key. */
    const outsider = (h: Record<string, unknown>, c: Record<string, unknown> = {}) =>
      jwsOf(JSON.stringify(header(h)), JSON.stringify(claims(c)), attacker.privateKey);

    const parts = (token: string) => token.split(".") as [string, string, string];

    /** HS256 over the token's signing input, keyed with `secret`. */
    const hs256 = (secret: Buffer) => {
      const input = `${b64(JSON.stringify(header({ alg: "HS256" })))}.${b64(JSON.stringify(claims()))}`;
      return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
    };

    const publicRaw = () => {
      const jwk = server.jwk;
      return alg === "EdDSA"
        ? Buffer.from(jwk.x as string, "base64url")
        : Buffer.concat([
            Buffer.from([4]),
            Buffer.from(jwk.x as string, "base64url"),
            Buffer.from(jwk.y as string, "base64url"),
          ]);
    };

    /** A signature of this server's whose base64url text uses `-` or `_` (tries a bounded number of tokens). */
    function tokenWithUrlSafeCharacters(): string {
      for (let i = 0; i < 200; i++) {
        const token = insider({}, { jti: `jti-${i}` });
        if (/[-_]/.test(parts(token)[2])) return token;
      }
      throw new Error("no signature with - or _ in 200 tries");
    }

    const forgeries = (): Forgery[] => [
      // The control: without it, a gate that refused everything would pass every row below.
      {
        name: "a token signed with the server's key, as issued (the control)",
        token: () => insider(),
        verdict: "accepted",
      },
      {
        name: "the token the server issued at sign-in (the control)",
        token: () => alice.access_token,
        verdict: "accepted",
      },

      // RFC 8725 §2.1, §3.1: "none" is never an algorithm we accept, whatever its spelling.
      ...["none", "None", "NONE", "nOnE"].flatMap((none): Forgery[] => [
        {
          name: `alg "${none}", no signature`,
          token: () => `${b64(JSON.stringify(header({ alg: none })))}.${b64(JSON.stringify(claims()))}.`,
          verdict: "invalid",
        },
        {
          name: `alg "${none}" with the real signature left on`,
          token: () => {
            const [, payload, sig] = parts(insider());
            return `${b64(JSON.stringify(header({ alg: none })))}.${payload}.${sig}`;
          },
          verdict: "invalid",
        },
      ]),

      // Algorithm confusion (RFC 8725 §2.1): HMAC keyed with the public key, in every form it is published.
      {
        name: "HS256 keyed with the public JWK as published",
        token: () => hs256(Buffer.from(JSON.stringify(server.jwk))),
        verdict: "invalid",
      },
      {
        name: "HS256 keyed with the raw public key bytes",
        token: () => hs256(publicRaw()),
        verdict: "invalid",
      },
      {
        name: "HS256 keyed with the public key as PEM",
        token: () => hs256(Buffer.from(server.publicKey.export({ type: "spki", format: "pem" }) as string)),
        verdict: "invalid",
      },
      {
        name: "HS256 keyed with the public key as DER",
        token: () => hs256(server.publicKey.export({ type: "spki", format: "der" })),
        verdict: "invalid",
      },
      {
        name: `${alg === "EdDSA" ? "ES256" : "EdDSA"} named on the server's ${alg} key, signed by the attacker`,
        token: () => {
          const other = attackerKeyPair(alg === "EdDSA" ? "ES256" : "EdDSA");
          const otherAlg = alg === "EdDSA" ? "ES256" : "EdDSA";
          const input = `${b64(JSON.stringify(header({ alg: otherAlg })))}.${b64(JSON.stringify(claims()))}`;
          return `${input}.${signature(otherAlg, other.privateKey, input).toString("base64url")}`;
        },
        verdict: "invalid",
      },

      // Keys named by the token itself (RFC 8725 §3.10): never fetched, never trusted.
      {
        name: "an embedded jwk (the attacker's key), signed with it",
        token: () => outsider({ kid: attacker.kid, jwk: attacker.publicKey.export({ format: "jwk" }) }),
        verdict: "invalid",
      },
      {
        name: "an embedded jwk naming the server's kid, signed by the attacker",
        token: () => outsider({ jwk: attacker.publicKey.export({ format: "jwk" }) }),
        verdict: "invalid",
      },
      {
        name: "jku pointing at the attacker's JWKS",
        token: () => outsider({ kid: attacker.kid, jku: `${keyHostUrl}/jwks.json` }),
        verdict: "invalid",
      },
      {
        name: "x5u pointing at the attacker's host",
        token: () => outsider({ kid: attacker.kid, x5u: `${keyHostUrl}/cert.pem` }),
        verdict: "invalid",
      },
      {
        name: "x5c carrying a certificate chain",
        token: () => outsider({ kid: attacker.kid, x5c: ["MIIBszCCAVmgAwIBAgIUJ"] }),
        verdict: "invalid",
      },
      {
        name: "jku on a token signed with the server's own key",
        token: () => insider({ jku: `${keyHostUrl}/jwks.json` }),
        verdict: "invalid",
      },

      // kid injection, signed with the server's key so that only the kid is wrong.
      {
        name: "kid with path traversal",
        token: () => insider({ kid: "../../../../../../../dev/null" }),
        verdict: "invalid",
      },
      { name: "kid with SQL", token: () => insider({ kid: "' OR '1'='1' --" }), verdict: "invalid" },
      {
        name: "kid with SQL that would drop the keys",
        token: () => insider({ kid: "x'; DROP TABLE signing_keys; --" }),
        verdict: "invalid",
      },
      {
        name: "kid of 10 000 characters",
        token: () => insider({ kid: "k".repeat(10_000) }),
        verdict: "invalid",
      },
      { name: "kid __proto__", token: () => insider({ kid: "__proto__" }), verdict: "invalid" },
      {
        name: "kid with NUL and a line break",
        token: () => insider({ kid: `${server.kid}\u0000\n` }),
        verdict: "invalid",
      },
      {
        name: "kid one character off the server's",
        token: () => insider({ kid: `${server.kid} ` }),
        verdict: "invalid",
      },
      { name: "kid empty", token: () => insider({ kid: "" }), verdict: "invalid" },
      { name: "kid a number", token: () => insider({ kid: 1 }), verdict: "invalid" },
      { name: "no kid", token: () => insider({ kid: undefined }), verdict: "invalid" },

      // RFC 7515 §4.1.11: extensions we do not understand must be refused.
      { name: 'crit ["exp"]', token: () => insider({ crit: ["exp"], exp: now() + 60 }), verdict: "invalid" },
      {
        name: 'crit ["b64"] with b64 false (RFC 7797)',
        token: () => insider({ crit: ["b64"], b64: false }),
        verdict: "invalid",
      },
      { name: "crit empty", token: () => insider({ crit: [] }), verdict: "invalid" },

      // RFC 9068 §2.1, §4: typ must be at+jwt.
      { name: 'typ "JWT"', token: () => insider({ typ: "JWT" }), verdict: "invalid" },
      { name: 'typ "application/jwt"', token: () => insider({ typ: "application/jwt" }), verdict: "invalid" },
      { name: "typ absent", token: () => insider({ typ: undefined }), verdict: "invalid" },
      {
        name: 'typ "at+jwt " with a trailing space',
        token: () => insider({ typ: "at+jwt " }),
        verdict: "invalid",
      },
      { name: "typ an array", token: () => insider({ typ: ["at+jwt"] }), verdict: "invalid" },

      // Claims missing or absurd, signed with the server's key.
      { name: "exp 1e20", token: () => insider({}, { exp: 1e20 }), verdict: "invalid" },
      { name: "no exp", token: () => insider({}, { exp: undefined }), verdict: "invalid" },
      { name: "exp as a string", token: () => insider({}, { exp: String(now() + 120) }), verdict: "invalid" },
      { name: "exp equal to iat", token: () => insider({}, { exp: now() }), verdict: "invalid" },
      {
        name: "iat an hour in the future",
        token: () => insider({}, { iat: now() + 3600, exp: now() + 3700, rfa: now() + 3680 }),
        verdict: "invalid",
      },
      { name: "no iat", token: () => insider({}, { iat: undefined }), verdict: "invalid" },
      {
        name: "nbf an hour in the future",
        token: () => insider({}, { nbf: now() + 3600 }),
        verdict: "invalid",
      },
      {
        name: "another issuer",
        token: () => insider({}, { iss: "https://evil.example" }),
        verdict: "invalid",
      },
      {
        name: "the issuer with a trailing slash",
        token: () => insider({}, { iss: `${target.issuer}/` }),
        verdict: "invalid",
      },
      { name: "another audience", token: () => insider({}, { aud: "another-api" }), verdict: "invalid" },
      { name: "an empty audience list", token: () => insider({}, { aud: [] }), verdict: "invalid" },
      { name: "no sub", token: () => insider({}, { sub: undefined }), verdict: "invalid" },
      { name: "no sid", token: () => insider({}, { sid: undefined }), verdict: "invalid" },
      { name: "ver a string", token: () => insider({}, { ver: "0" }), verdict: "invalid" },
      {
        name: 'sub twice, {"sub": alice, "sub": bob}',
        token: () => {
          const text = JSON.stringify(claims());
          return jwsOf(
            JSON.stringify(header()),
            `${text.slice(0, -1)},"sub":${JSON.stringify(claimsOf(bob.access_token).sub)}}`,
          );
        },
        verdict: "invalid",
      },
      {
        name: "a __proto__ member in the claims",
        token: () => {
          const text = JSON.stringify(claims());
          return jwsOf(JSON.stringify(header()), `${text.slice(0, -1)},"__proto__":{"admin":true}}`);
        },
        verdict: "invalid",
      },
      {
        name: "claims that are a JSON array",
        token: () => jwsOf(JSON.stringify(header()), JSON.stringify([claims()])),
        verdict: "invalid",
      },
      {
        name: "claims that are not JSON",
        token: () => jwsOf(JSON.stringify(header()), "hello"),
        verdict: "invalid",
      },
      {
        name: "expired a minute ago (said as expired)",
        token: () => insider({}, { iat: now() - 180, exp: now() - 60, rfa: now() - 84 }),
        verdict: "expired",
      },

      // One spelling per token: padding, another alphabet, unused bits set.
      {
        name: "padding on the header segment",
        token: () => {
          const [h, p, s] = parts(insider());
          return `${h}${"=".repeat((4 - (h.length % 4)) % 4 || 4)}.${p}.${s}`;
        },
        verdict: "invalid",
      },
      { name: "padding on the signature", token: () => `${insider()}==`, verdict: "invalid" },
      {
        name: "the signature in the standard base64 alphabet",
        token: () => {
          const [h, p, s] = parts(tokenWithUrlSafeCharacters());
          return `${h}.${p}.${s.replaceAll("-", "+").replaceAll("_", "/")}`;
        },
        verdict: "invalid",
      },
      {
        name: "the signature's unused low bits set (same bytes, another spelling)",
        token: () => {
          const [h, p, s] = parts(insider());
          return `${h}.${p}.${twinOf(s)}`;
        },
        verdict: "invalid",
      },
      {
        name: "a JWE-shaped token of five segments",
        token: () => `${insider()}.AAAA.BBBB`,
        verdict: "invalid",
      },
      {
        name: "the JSON serialization of a JWS",
        token: () => {
          const [h, p, s] = parts(insider());
          return b64(JSON.stringify({ protected: h, payload: p, signature: s }));
        },
        verdict: "invalid",
      },
      { name: "a space inside the token", token: () => insider().replace(".", ". "), verdict: "malformed" },

      // Malleated signatures.
      {
        name: "one bit flipped in the signature",
        token: () => {
          const [h, p, s] = parts(insider());
          const raw = Buffer.from(s, "base64url");
          raw[20] = (raw[20] as number) ^ 0x01;
          return `${h}.${p}.${raw.toString("base64url")}`;
        },
        verdict: "invalid",
      },
      {
        name: "a byte appended to the signature",
        token: () => {
          const [h, p, s] = parts(insider());
          return `${h}.${p}.${Buffer.concat([Buffer.from(s, "base64url"), Buffer.from([0])]).toString("base64url")}`;
        },
        verdict: "invalid",
      },
      {
        name: "the signature cut by a byte",
        token: () => {
          const [h, p, s] = parts(insider());
          return `${h}.${p}.${Buffer.from(s, "base64url").subarray(0, -1).toString("base64url")}`;
        },
        verdict: "invalid",
      },
      {
        name: "an all-zero signature",
        token: () => {
          const [h, p] = parts(insider());
          return `${h}.${p}.${Buffer.alloc(64).toString("base64url")}`;
        },
        verdict: "invalid",
      },
      {
        name: "bob's valid signature on alice's claims",
        token: () => {
          const [h, p] = parts(insider());
          return `${h}.${p}.${parts(bob.access_token)[2]}`;
        },
        verdict: "invalid",
      },
      ...(alg === "EdDSA"
        ? [
            {
              name: "Ed25519 S + L: the same signature with S out of range (RFC 8032 §5.1.7)",
              token: () => {
                const [h, p, s] = parts(insider());
                return `${h}.${p}.${ed25519PlusL(Buffer.from(s, "base64url")).toString("base64url")}`;
              },
              verdict: "invalid" as const,
            },
          ]
        : [
            {
              name: "the ES256 signature in DER form (RFC 7518 §3.4 wants R||S)",
              token: () => {
                const [h, p, s] = parts(insider());
                return `${h}.${p}.${derSignature(Buffer.from(s, "base64url")).toString("base64url")}`;
              },
              verdict: "invalid" as const,
            },
            {
              name: "an ES256 signature with R and S zero",
              token: () => {
                const [h, p] = parts(insider());
                return `${h}.${p}.${Buffer.alloc(64).toString("base64url")}`;
              },
              verdict: "invalid" as const,
            },
            {
              name: "an ES256 signature with S equal to the group order",
              token: () => {
                const [h, p, s] = parts(insider());
                const raw = Buffer.from(s, "base64url");
                return `${h}.${p}.${Buffer.concat([raw.subarray(0, 32), toBigEndian(P256_N, 32)]).toString("base64url")}`;
              },
              verdict: "invalid" as const,
            },
          ]),

      // Size and depth, bounded before parsing.
      {
        name: "over 8 192 characters, signed with the server's key",
        token: () => insider({}, { padding: "x".repeat(6_800) }),
        verdict: "invalid",
      },
      {
        name: "20 000 characters",
        token: () => insider({}, { padding: "x".repeat(15_000) }),
        verdict: "header too large",
      },
      {
        name: "a header nested 2 000 arrays deep",
        token: () => outsider({ x: JSON.parse(nested(2_000)) }),
        verdict: "invalid",
      },
      {
        name: "claims nested 2 000 arrays deep",
        token: () => outsider({}, { x: JSON.parse(nested(2_000)) }),
        verdict: "invalid",
      },
      {
        name: "a header of 5 000 unclosed braces",
        token: () => `${b64("{".repeat(5_000))}.${b64(JSON.stringify(claims()))}.AAAA`,
        verdict: "invalid",
      },
    ];

    it("refuses every forgery at every gate, with the status and code RFC 6750 and RFC 7662 ask for", async () => {
      const seen: Record<string, Record<string, Seen>> = {};
      const wanted: Record<string, Record<string, Seen>> = {};
      for (const forgery of forgeries()) {
        const token = forgery.token();
        const answers = await Promise.all(
          gates.map(async (gate) => [gate.name, await gate.ask(token)] as const),
        );
        seen[forgery.name] = Object.fromEntries(answers);
        wanted[forgery.name] = Object.fromEntries(
          gates.map((gate) => [gate.name, gate.expected(forgery.verdict)]),
        );
      }
      // One comparison of the whole table, so a failure lists every row and gate that differs.
      expect(seen).toEqual(wanted);
      // Nobody followed the token's jku or x5u to the attacker's host.
      expect(keyHostHits).toBe(0);
    });

    it("reads the Authorization header alike at the server and every adapter (RFC 6750 §2.1, §3.1)", async () => {
      const token = alice.access_token;
      const shapes: [string, string | null, Verdict][] = [
        ["no header", null, "no credentials"],
        [
          "another scheme (Basic)",
          `Basic ${Buffer.from("alice:password").toString("base64")}`,
          "no credentials",
        ],
        ["a scheme that only starts with Bearer", `Bearerx ${token}`, "no credentials"],
        ["Bearer and no token", "Bearer", "malformed"],
        ["Bearer and two tokens", `Bearer ${token} ${token}`, "malformed"],
        ["the scheme in lower case", `bearer ${token}`, "accepted"],
        ["several spaces after the scheme", `Bearer   ${token}`, "accepted"],
      ];
      const seen: Record<string, Record<string, Seen>> = {};
      const wanted: Record<string, Record<string, Seen>> = {};
      const bearerGates = gates.filter((gate) => gate.askWith);
      for (const [shape, header, verdict] of shapes) {
        const answers = await Promise.all(
          bearerGates.map(async (gate) => [gate.name, await gate.askWith?.(header)] as const),
        );
        seen[shape] = Object.fromEntries(answers) as Record<string, Seen>;
        wanted[shape] = Object.fromEntries(bearerGates.map((gate) => [gate.name, gate.expected(verdict)]));
      }
      expect(seen).toEqual(wanted);
    });

    it("refuses a revoked session's token at once at the server, and within 2 s wherever the feed reaches", async () => {
      const victim = await signIn(target, { username: "alice", password: PASSWORD, client_id: "web" });
      for (const gate of gates) expect((await gate.ask(victim.access_token)).status, gate.name).toBe(200);
      const revoked = await fetch(`${target.url}/sessions/${victim.session_id}`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${alice.access_token}` },
      });
      expect(revoked.status).toBe(204);
      for (const gate of gates) {
        const refused = await eventually(
          async () => equalSeen(await gate.ask(victim.access_token), gate.expected("invalid")),
          2_000,
        );
        expect(refused, gate.name).toBe(true);
      }
      if (alg === "ES256") {
        // ECDSA's S and n - S both verify (RFC 7518 does not ask for low S): the twin is
        // another spelling of the same claims and the same session, and is refused with it.
        const [h, p, s] = parts(victim.access_token);
        const raw = Buffer.from(s, "base64url");
        const sValue = BigInt(`0x${raw.subarray(32).toString("hex")}`);
        const twin = `${h}.${p}.${Buffer.concat([raw.subarray(0, 32), toBigEndian(P256_N - sValue, 32)]).toString("base64url")}`;
        for (const gate of gates) expect(await gate.ask(twin), gate.name).toEqual(gate.expected("invalid"));
      }
    });

    it("refuses a token minted before log out everywhere, at once at the server and through the feed", async () => {
      const before = await signIn(target, { username: "bob", password: PASSWORD, client_id: "web" });
      const other = await signIn(target, { username: "bob", password: PASSWORD, client_id: "web" });
      const out = await fetch(`${target.url}/logout`, {
        method: "POST",
        headers: { authorization: `Bearer ${other.access_token}`, "content-type": "application/json" },
        body: JSON.stringify({ everywhere: true }),
      });
      expect(out.status).toBe(204);
      for (const gate of gates) {
        const refused = await eventually(
          async () => equalSeen(await gate.ask(before.access_token), gate.expected("invalid")),
          2_000,
        );
        expect(refused, gate.name).toBe(true);
      }
    });

    // Last: it retires the key the rows above sign with.
    it("refuses a token of a retired key once it has expired, and accepts the new key's tokens", async () => {
      const old = await signIn(target, { username: "alice", password: PASSWORD, client_id: "native" });
      const rotated = await target.admin("POST", "/keys/rotate", { force: true });
      expect(rotated.status).toBe(200);
      const { kid } = (await rotated.json()) as { kid: string };
      expect(kid).not.toBe(server.kid);
      // A web token: it lives long enough to be asked at every gate however slow the machine.
      const fresh = await signIn(target, { username: "alice", password: PASSWORD, client_id: "web" });
      expect(
        JSON.parse(Buffer.from(fresh.access_token.split(".")[0] as string, "base64url").toString()).kid,
      ).toBe(kid);
      for (const gate of gates)
        expect(await gate.ask(fresh.access_token), gate.name).toEqual(gate.expected("accepted"));
      // Past exp (1 s tokens, no tolerance): refused as expired everywhere, though its key still verifies.
      await sleep(Math.max(0, claimsOf(old.access_token).exp * 1000 - Date.now()) + 1_100);
      for (const gate of gates)
        expect(await gate.ask(old.access_token), gate.name).toEqual(gate.expected("expired"));
    });
  });
}

function equalSeen(a: Seen, b: Seen): boolean {
  return a.status === b.status && a.challenge === b.challenge && a.error === b.error;
}

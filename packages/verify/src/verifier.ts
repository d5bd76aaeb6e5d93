import {
  ACCESS_TOKEN_TYP,
  type AccessTokenClaims,
  DPOP_ALGS,
  DPOP_PROOF_LIFETIME_SECONDS,
  type DpopAlg,
  MAX_ACCESS_TOKEN_BYTES,
} from "@prolong/protocol";
import type { JWK } from "jose";
import { checkClaims, DEFAULT_CLOCK_TOLERANCE } from "./claims.js";
import { checkDpopProof, ProofReplayCache } from "./dpop.js";
import { invalid, VerifyError, type VerifyErrorCode } from "./errors.js";
import { JwksCache } from "./jwks.js";
import { checkSignature, decodeUtf8, HeaderCache, parseCompactJws } from "./jws.js";
import { ALGORITHMS, type Algorithm, importVerificationKey, type VerificationKey } from "./keys.js";
import { parseStrictObject } from "./strict-json.js";

/** What the verifier needs from a revocation feed; `RevocationFeed` is the real one. */
export interface RevocationSource {
  /** Connected and past the snapshot, so the revoked set is complete. */
  readonly live: boolean;
  isRevoked(claims: { sid: string; sub: string; ver?: number }): boolean;
  /**
   * Told once by {@link createVerifier} its clock tolerance, in seconds: the verifier accepts
   * a token until `exp` plus that much, so a revocation entry must outlive its `exp` by as
   * much, or a token still accepted would be un-revoked early.
   */
  holdPastExpiry?(seconds: number): void;
}

/**
 * Keys found in process, without a JWKS fetch: the issuer verifying its own tokens hands
 * its key ring here. Called with a token's `kid`; `undefined` when the kid is unknown.
 */
export type KeyLookup = (kid: string) => VerificationKey | undefined;

/**
 * Remembers proof `jti`s so a proof is accepted once (RFC 9449 §11.1). `ProofReplayCache`
 * is the in-process one; a store shared by several instances fits the same shape.
 * `expiresAt` and `now` in seconds; a rejection is answered as `unavailable` (503).
 */
export interface ProofReplayGuard {
  claim(key: string, expiresAt: number, now: number): boolean | Promise<boolean>;
}

/**
 * Server-provided nonces (RFC 9449 §9): proofs must carry one this accepts; a proof
 * without one, or with one no longer accepted, is answered `use_dpop_nonce` with
 * `current()` in the `DPoP-Nonce` header. `createDpopNonces` makes stateless ones.
 */
export interface DpopNonces {
  current(): string | Promise<string>;
  accepts(nonce: string): boolean | Promise<boolean>;
}

/** How DPoP-bound tokens (RFC 9449 §7) are checked. */
export interface DpopOptions {
  /** Proof algorithms accepted; default `DPOP_ALGS`. Announced in the `algs` challenge parameter. */
  algorithms?: readonly DpopAlg[];
  /** How long after its `iat` a proof is accepted, in seconds; default `DPOP_PROOF_LIFETIME_SECONDS`. */
  lifetimeSeconds?: number;
  /** Where proof `jti`s are remembered; default a `ProofReplayCache` of {@link DEFAULT_REPLAY_ENTRIES}. */
  replay?: ProofReplayGuard;
  /** Nonces to require in proofs; none by default. */
  nonces?: DpopNonces;
}

/** What a request under the DPoP scheme carries besides its token. */
export interface DpopRequest {
  /** The `DPoP` header: undefined when absent, several values when it came more than once. */
  proof: string | readonly string[] | undefined;
  /** The request method, as received. */
  method: string;
  /** The URL as the client addressed it (origin it used, path); see the adapters' `publicOrigin`. */
  url: string | URL;
}

/** Proof `jti`s one verifier remembers by default: a minute of proofs at over 150 requests a second. */
export const DEFAULT_REPLAY_ENTRIES = 10_000;

export interface VerifierOptions {
  /** Expected `iss`, exactly. */
  issuer: string;
  /** Expected `aud` (prolong's default is `prolong`). */
  audience: string;
  /** Where the issuer publishes its keys. One of this, `keys` or `keyLookup` is required. */
  jwksUri?: string;
  /** Keys known in advance (JWKs; HS256 as `{kty: "oct", k, kid}`). */
  keys?: JWK[];
  /** Keys looked up in process by `kid`, consulted after `keys` and before the JWKS. */
  keyLookup?: KeyLookup;
  /** Allowed algorithms; default EdDSA, ES256, RS256. HS256 only when asked for. */
  algorithms?: readonly Algorithm[];
  /** Clock skew tolerated, in seconds. Default {@link DEFAULT_CLOCK_TOLERANCE} (5). */
  clockTolerance?: number;
  /** Longest lifetime (`exp - iat`) accepted, in seconds. Default 3600. */
  maxTokenAge?: number;
  /** Tokens longer than this are refused before parsing. Default `MAX_ACCESS_TOKEN_BYTES` (8192). */
  maxTokenBytes?: number;
  /** A subscribed revocation feed: revoked sessions are refused at once (P6). */
  revocations?: RevocationSource;
  /** When the feed is not live: `open` trusts local checks, `closed` refuses. Default `open`. */
  whenFeedDown?: "open" | "closed";
  /** Remember this many verified tokens (0 = off). Hits still honour `exp` and the feed. */
  cacheSize?: number;
  /** Milliseconds since the epoch. */
  now?: () => number;
  /** JWKS fetch tuning. */
  jwks?: { cooldownMs?: number; maxAgeMs?: number; fetch?: typeof fetch };
  /** DPoP-bound tokens (RFC 9449): proof rules, replay cache, nonces. Always on. */
  dpop?: DpopOptions;
  /**
   * What `verify(token)`, which sees no proof, does with a token bound to a key (`cnf`):
   * `refuse` (default: RFC 9449 §7.2, a bound token is never a bearer token), or `accept`
   * for a caller that checks the binding itself (introspection, RFC 7662 §2.2 `cnf`).
   */
  boundTokens?: "refuse" | "accept";
}

export type VerifyResult =
  | {
      ok: true;
      claims: AccessTokenClaims;
      /** `rfa` has passed: the client should renew now (P11). */
      renewSoon: boolean;
      /** A fresh `DPoP-Nonce` to hand the client, when its proof used an older one (RFC 9449 §8.2). */
      nonce?: string;
    }
  | {
      ok: false;
      code: VerifyErrorCode;
      reason: string;
      /** With `use_dpop_nonce`: the nonce to send in `DPoP-Nonce` (RFC 9449 §9). */
      nonce?: string;
    };

export interface Verifier {
  /** Checks a token alone: a bearer token, or a bound one only with `boundTokens: "accept"`. */
  verify(token: string): Promise<VerifyResult>;
  /**
   * Checks a token sent under the DPoP scheme (RFC 9449 §7.1): the token must be bound
   * (`cnf.jkt`), and the request's one proof valid for it, its method and URL, made with
   * that key, and not seen before.
   */
  verifyDpop(token: string, request: DpopRequest): Promise<VerifyResult>;
  /** The proof algorithms accepted, for the `algs` challenge parameter (RFC 9449 §7.1). */
  readonly dpopAlgorithms: readonly DpopAlg[];
  readonly jwks: JwksCache | null;
  /**
   * The verifier's clock (`VerifierOptions.now`), milliseconds since the epoch: routes'
   * `maxAge` is measured with it, as `exp` is.
   */
  now(): number;
}

/**
 * The key a token is bound to (RFC 9449 §6.1, RFC 7800 §3.1), or null when it is a
 * bearer token. A `cnf` this verifier cannot check (another confirmation method, a
 * malformed thumbprint) makes the token invalid: it must never pass as a bearer token.
 */
function boundKey(claims: AccessTokenClaims): string | null {
  const cnf = claims.cnf;
  if (cnf === undefined) return null;
  if (typeof cnf !== "object" || cnf === null || Array.isArray(cnf)) throw invalid("cnf is not an object");
  const members = Object.keys(cnf);
  const jkt = (cnf as { jkt?: unknown }).jkt;
  // A base64url SHA-256 thumbprint is 43 characters (RFC 7638 §3).
  if (members.length !== 1 || typeof jkt !== "string" || !/^[A-Za-z0-9_-]{43}$/.test(jkt))
    throw invalid("cnf is not a jkt confirmation");
  return jkt;
}

/** Builds the one verifier that every framework adapter wraps. */
export async function createVerifier(options: VerifierOptions): Promise<Verifier> {
  const algorithms = options.algorithms ?? ALGORITHMS.filter((a) => a !== "HS256");
  for (const alg of algorithms)
    if (!ALGORITHMS.includes(alg)) throw new TypeError(`algorithm ${alg} is not supported`);
  if (!options.jwksUri && !options.keys?.length && !options.keyLookup)
    throw new TypeError("give jwksUri, keys or keyLookup");
  const allowed = new Set<string>(algorithms);
  const now = options.now ?? Date.now;
  const rules = {
    issuer: options.issuer,
    audience: options.audience,
    tolerance: options.clockTolerance ?? DEFAULT_CLOCK_TOLERANCE,
    maxLifetime: options.maxTokenAge ?? 3600,
  };
  if (!(Number.isFinite(rules.tolerance) && rules.tolerance >= 0))
    throw new TypeError("clockTolerance must be zero or more seconds");
  const maxBytes = options.maxTokenBytes ?? MAX_ACCESS_TOKEN_BYTES;
  const staticKeys = new Map<string, VerificationKey>();
  for (const jwk of options.keys ?? []) {
    const key = await importVerificationKey(jwk, algorithms);
    staticKeys.set(key.kid, key);
  }
  const jwks = options.jwksUri
    ? new JwksCache({ uri: options.jwksUri, algorithms, now, ...options.jwks })
    : null;
  const cacheSize = options.cacheSize ?? 0;
  const cache = new Map<string, AccessTokenClaims>();
  const feed = options.revocations;
  feed?.holdPastExpiry?.(rules.tolerance);
  const lookup = options.keyLookup;
  const headers = new HeaderCache();
  const dpopAlgorithms = options.dpop?.algorithms ?? DPOP_ALGS;
  for (const alg of dpopAlgorithms)
    if (!DPOP_ALGS.includes(alg)) throw new TypeError(`DPoP algorithm ${alg} is not supported`);
  const proofLifetime = options.dpop?.lifetimeSeconds ?? DPOP_PROOF_LIFETIME_SECONDS;
  const replay = options.dpop?.replay ?? new ProofReplayCache(DEFAULT_REPLAY_ENTRIES);
  const nonces = options.dpop?.nonces;
  const acceptBound = options.boundTokens === "accept";

  /** Only reached for a kid not in memory: the one path that may do I/O. */
  async function fetchKey(kid: string): Promise<VerificationKey> {
    if (!jwks) throw invalid("unknown kid");
    try {
      const fetched = await jwks.get(kid);
      if (fetched) return fetched;
    } catch {
      throw new VerifyError("unavailable", "the issuer's keys cannot be fetched");
    }
    throw invalid("unknown kid");
  }

  /** The checks that depend on time and revocation, run on cache hits too. */
  function stillGood(claims: AccessTokenClaims, nowSeconds: number): VerifyResult {
    if (claims.exp <= nowSeconds - rules.tolerance)
      return { ok: false, code: "expired", reason: "token has expired" };
    if (feed) {
      if (!feed.live && options.whenFeedDown === "closed") {
        return { ok: false, code: "unavailable", reason: "revocation status is unknown" };
      }
      if (feed.isRevoked(claims)) return { ok: false, code: "revoked", reason: "session was revoked" };
    }
    return { ok: true, claims, renewSoon: nowSeconds >= claims.rfa };
  }

  /** The token's own checks; the binding is left to the caller. */
  async function check(token: string, nowSeconds: number): Promise<VerifyResult> {
    // Length first, so an oversized string is not even hashed for the cache lookup.
    if (typeof token !== "string" || token.length > maxBytes) {
      return { ok: false, code: "invalid_token", reason: "token is too large" };
    }
    const cached = cacheSize > 0 ? cache.get(token) : undefined;
    if (cached) return stillGood(cached, nowSeconds);
    try {
      const jws = parseCompactJws(token, allowed, maxBytes, headers);
      const header = jws.header;
      // RFC 9068 §4: typ must be at+jwt (also accepted with the application/ prefix, RFC 7515 §4.1.9).
      const typ = typeof header.typ === "string" ? header.typ.toLowerCase() : "";
      if (typ !== ACCESS_TOKEN_TYP && typ !== `application/${ACCESS_TOKEN_TYP}`)
        throw invalid("typ is not at+jwt");
      // No await when the key is in memory: a resolved promise per request is measurable.
      const key =
        staticKeys.get(header.kid) ??
        lookup?.(header.kid) ??
        jwks?.peek(header.kid) ??
        (await fetchKey(header.kid));
      // A promise only where the runtime's crypto is asynchronous (crypto/backend.ts).
      const checking = checkSignature(jws, key);
      if (checking) await checking;
      const claims = checkClaims(parseStrictObject(decodeUtf8(jws.payload)), rules, nowSeconds);
      if (cacheSize > 0) {
        if (cache.size >= cacheSize) cache.delete(cache.keys().next().value as string);
        cache.set(token, claims);
      }
      return stillGood(claims, nowSeconds);
    } catch (error) {
      if (error instanceof VerifyError) return { ok: false, code: error.code, reason: error.message };
      return { ok: false, code: "invalid_token", reason: "token is malformed" };
    }
  }

  async function verify(token: string): Promise<VerifyResult> {
    const result = await check(token, now() / 1000);
    if (!result.ok) return result;
    try {
      // RFC 9449 §7.2: a bound token sent as a bearer token is refused. A `cnf` that is no
      // usable binding is refused even to callers that check the binding themselves.
      if (boundKey(result.claims) !== null && !acceptBound)
        return refused("invalid_token", "token is bound to a DPoP key");
    } catch (error) {
      return refused("invalid_token", (error as Error).message);
    }
    return result;
  }

  async function verifyDpop(token: string, request: DpopRequest): Promise<VerifyResult> {
    const nowSeconds = now() / 1000;
    const result = await check(token, nowSeconds);
    if (!result.ok) return result;
    let jkt: string | null;
    try {
      jkt = boundKey(result.claims);
    } catch (error) {
      return refused("invalid_token", (error as Error).message);
    }
    // §7.1: the DPoP scheme names a bound token; with an unbound one there is no key
    // for the proof to match, and the client and issuer disagree about the token.
    if (jkt === null) return refused("invalid_token", "token is not bound to a DPoP key");
    const proofs = typeof request.proof === "string" ? [request.proof] : (request.proof ?? []);
    if (proofs.length === 0) return refused("invalid_dpop_proof", "DPoP proof is missing");
    // §4.3 point 1: exactly one DPoP header. Joined repeats carry a comma, no JWS does.
    if (proofs.length > 1 || (proofs[0] as string).includes(","))
      return refused("invalid_dpop_proof", "more than one DPoP proof");
    let proofNonce: string | undefined;
    let proof: Awaited<ReturnType<typeof checkDpopProof>>;
    try {
      proof = await checkDpopProof(proofs[0] as string, {
        method: request.method,
        url: request.url,
        now: nowSeconds,
        accessToken: token,
        algorithms: dpopAlgorithms,
        lifetimeSeconds: proofLifetime,
        clockToleranceSeconds: rules.tolerance,
        nonce: (nonce) => {
          proofNonce = nonce;
          return true;
        },
      });
    } catch (error) {
      if (error instanceof VerifyError) return refused(error.code, error.message);
      return refused("invalid_dpop_proof", "DPoP proof is malformed");
    }
    // §7.1: the proof is made with the very key the token is bound to.
    if (proof.jkt !== jkt) return refused("invalid_dpop_proof", "DPoP proof key is not the token's key");
    let fresh: string | undefined;
    try {
      if (nonces) {
        // §9: checked after the proof itself, so a client asked for a nonce holds a good proof.
        if (proofNonce === undefined || !(await nonces.accepts(proofNonce))) {
          const reason = proofNonce === undefined ? "DPoP nonce is required" : "DPoP nonce is stale";
          return { ...refused("use_dpop_nonce", reason), nonce: await nonces.current() };
        }
        const current = await nonces.current();
        if (current !== proofNonce) fresh = current;
      }
      // §11.1: last, so only proofs good in every other way take a place in the cache.
      if (!(await replay.claim(`${proof.jkt} ${proof.jti}`, proof.expiresAt, nowSeconds)))
        return refused("invalid_dpop_proof", "DPoP proof was used before");
    } catch {
      return refused("unavailable", "DPoP replay or nonce state is unavailable");
    }
    return fresh === undefined ? result : { ...result, nonce: fresh };
  }

  return { verify, verifyDpop, dpopAlgorithms, jwks, now };
}

const refused = (code: VerifyErrorCode, reason: string): VerifyResult => ({ ok: false, code, reason });

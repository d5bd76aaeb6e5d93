import { ACCESS_TOKEN_TYP, type AccessTokenClaims, MAX_ACCESS_TOKEN_BYTES } from "@prolong/protocol";
import type { JWK } from "jose";
import { checkClaims, DEFAULT_CLOCK_TOLERANCE } from "./claims.js";
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
}

export type VerifyResult =
  | {
      ok: true;
      claims: AccessTokenClaims;
      /** `rfa` has passed: the client should renew now (P11). */
      renewSoon: boolean;
    }
  | { ok: false; code: VerifyErrorCode; reason: string };

export interface Verifier {
  verify(token: string): Promise<VerifyResult>;
  readonly jwks: JwksCache | null;
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

  async function verify(token: string): Promise<VerifyResult> {
    const nowSeconds = now() / 1000;
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

  return { verify, jwks };
}

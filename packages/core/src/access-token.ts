import { createSecretKey, KeyObject } from "node:crypto";
import {
  ACCESS_TOKEN_TYP,
  type AccessTokenClaims,
  MAX_ACCESS_TOKEN_BYTES,
  SIGNING_ALGS,
} from "@prolong/protocol";
import { createVerifier, type KeyLookup, type VerificationKey } from "@prolong/verify";
import { ProlongError } from "./errors.js";
import type { KeyRing, RingKey } from "./keys.js";
import { compactJwsSigner, prepareSigningKey } from "./lib/jws.js";

/**
 * Each ring key's signer, made once: the key converted to a node:crypto key and the
 * header encoded. A reloaded ring brings new key objects, hence new signers.
 */
const signers = new WeakMap<RingKey, (claims: AccessTokenClaims) => string>();

/**
 * Signs an RFC 9068 access token: `typ: at+jwt` (§2.1) and the ring key's `kid`.
 * Synchronous: node:crypto signs on the calling thread.
 */
export function signAccessToken(key: RingKey, claims: AccessTokenClaims): string {
  let sign = signers.get(key);
  if (!sign) {
    sign = compactJwsSigner(
      { alg: key.alg, typ: ACCESS_TOKEN_TYP, kid: key.kid },
      prepareSigningKey(key.alg, key.signingKey),
    );
    signers.set(key, sign);
  }
  return sign(claims);
}

export interface OwnTokenRules {
  issuer: string;
  audience: string;
  /** Seconds of clock skew tolerated on `exp`, `nbf` and `iat`. */
  clockTolerance: number;
  /** Longest lifetime (`exp - iat`) a genuine token can have, in seconds. */
  maxLifetime: number;
  /** Milliseconds since the epoch. */
  now: () => number;
  /** Verified tokens remembered; default {@link OWN_TOKEN_CACHE_SIZE}, 0 turns the cache off. */
  cacheSize?: number;
}

/**
 * Verified tokens the server's own check remembers. A client sends one access token many
 * times during its life; remembering it saves the signature check (an Ed25519 verify is
 * most of a bearer route's CPU). About 1 KB each (the token and its claims), so a few MB.
 */
export const OWN_TOKEN_CACHE_SIZE = 4096;

/** Checks an access token this server issued; rejects with `token_expired` or `invalid_token`. */
export type OwnTokenCheck = (token: string) => Promise<AccessTokenClaims>;

/**
 * The check of the server's own routes (bearer routes, exchange, introspection,
 * revocation): `@prolong/verify`'s verifier, fed in process by the key ring, so the
 * server refuses exactly what every resource server refuses (docs/protocol.md, access
 * tokens), and a key rotated into the ring is seen without any JWKS fetch.
 *
 * Verified tokens are remembered ({@link OWN_TOKEN_CACHE_SIZE}): a hit skips the signature
 * and claim checks, which cannot change for the same string, and still checks `exp`
 * against the clock. What can change, the session's standing (revoked, token version
 * bumped, user disabled, re-auth asked for), is never remembered here: every caller reads
 * the session from the store after this check, so a revocation is refused at once. A key
 * leaves the ring only once every token it signed is past its `exp` (KeyRing's `retainFor`).
 */
export async function ownTokenCheck(ring: KeyRing, rules: OwnTokenRules): Promise<OwnTokenCheck> {
  const verifier = await createVerifier({
    issuer: rules.issuer,
    audience: rules.audience,
    // The ring's keys decide the algorithm of each kid; any the ring can hold is allowed.
    algorithms: SIGNING_ALGS,
    keyLookup: ringKeyLookup(ring),
    clockTolerance: rules.clockTolerance,
    maxTokenAge: rules.maxLifetime,
    maxTokenBytes: MAX_ACCESS_TOKEN_BYTES,
    cacheSize: rules.cacheSize ?? OWN_TOKEN_CACHE_SIZE,
    now: rules.now,
    // Bound tokens (RFC 9449 §6.1) pass here: each caller checks the binding itself (the
    // bearer routes take them only as DPoP with a proof of their key, the exchange only
    // with a proof of it; introspection reports their `cnf`, RFC 9449 §6.2).
    boundTokens: "accept",
  });
  return async (token) => {
    const result = await verifier.verify(token);
    if (!result.ok) {
      // The verifier's reason stays out of the message: it would tell a forger which check failed.
      const cause = new Error(result.reason);
      if (result.code === "expired") throw new ProlongError("token_expired", "token has expired", { cause });
      throw new ProlongError("invalid_token", "token failed verification", { cause });
    }
    return result.claims;
  };
}

/** The ring's keys as `node:crypto` key objects, converted once per kid. */
function ringKeyLookup(ring: KeyRing): KeyLookup {
  const converted = new Map<string, VerificationKey>();
  return (kid) => {
    const key = ring.find(kid);
    if (!key) {
      // Pruned from the ring: its tokens are refused from now on.
      converted.delete(kid);
      return undefined;
    }
    let known = converted.get(kid);
    if (!known) {
      const material = key.verificationKey;
      known = {
        kid,
        alg: key.alg,
        key:
          material instanceof Uint8Array
            ? createSecretKey(material)
            : KeyObject.from(material as Parameters<typeof KeyObject.from>[0]),
      };
      converted.set(kid, known);
    }
    return known;
  };
}

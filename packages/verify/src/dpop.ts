/**
 * DPoP proofs (RFC 9449): checking the JWS a client signs with its own key for one HTTP
 * request, so a token bound to that key is useless to anyone without it. The checks are
 * those of §4.3, in its order; the parsing is the verifier's own strict JWS parsing
 * (jws.ts), with the key taken from the proof's `jwk` header instead of the issuer's set.
 * Web APIs only, so proofs are checked the same way on Node and on edge runtimes.
 */
import { DPOP_ALGS, DPOP_PROOF_LIFETIME_SECONDS, DPOP_PROOF_TYP, type DpopAlg } from "@prolong/protocol";
import { calculateJwkThumbprint, type JWK } from "jose";
import { backend } from "#crypto";
import { encodeBase64url } from "./base64url.js";
import { DEFAULT_CLOCK_TOLERANCE } from "./claims.js";
import { VerifyError } from "./errors.js";
import { checkSignature, decodeUtf8, parseKeyedJws } from "./jws.js";
import { importProofKey, proofKeyMembers } from "./keys.js";
import { parseStrictObject } from "./strict-json.js";

/** What a proof is checked against: the request it came with, and the server's rules. */
export interface ProofCheck {
  /** The request's method; `htm` must equal it exactly (RFC 9449 §4.3 point 8). */
  method: string;
  /**
   * The request's URL as the client addressed it (scheme, host and path the client used,
   * not what a proxy rewrote it to); `htu` is compared with it without query and fragment,
   * both normalised (§4.3 point 9, RFC 3986 §6).
   */
  url: string | URL;
  /** Seconds since the epoch. */
  now: number;
  /** When given, `ath` must be the base64url SHA-256 of this token (§4.3 point 12). */
  accessToken?: string;
  /**
   * The server's nonce check, when it hands out nonces (§8, §9): called with the proof's
   * `nonce` (or `undefined`), false refuses the proof with `use_dpop_nonce`.
   */
  nonce?: (nonce: string | undefined) => boolean;
  /** Accepted `alg`s; default `DPOP_ALGS`. `none` and MAC algorithms are never accepted. */
  algorithms?: readonly DpopAlg[];
  /** How long after its `iat` a proof is accepted, in seconds; default `DPOP_PROOF_LIFETIME_SECONDS`. */
  lifetimeSeconds?: number;
  /** Clock skew tolerated either side, in seconds; default 5. */
  clockToleranceSeconds?: number;
}

/** A proof that passed every check. */
export interface Proof {
  /** RFC 7638 SHA-256 thumbprint of the proof's key, base64url: what `cnf.jkt` names. */
  jkt: string;
  jti: string;
  iat: number;
  /**
   * Seconds since the epoch from which this proof is refused anyway: `iat` plus the
   * lifetime plus the clock tolerance. Its `jti` must be remembered until then to refuse
   * a replay (§11.1), and no longer.
   */
  expiresAt: number;
}

/** Longer proofs are refused before any parsing (a 4096-bit RSA proof is under 3 KB). */
export const MAX_PROOF_BYTES = 8192;
/** Longest `jti` accepted: a replay cache keyed by it must not be fed megabytes. */
export const MAX_PROOF_JTI_LENGTH = 256;

const refuse = (why: string) => new VerifyError("invalid_dpop_proof", `DPoP proof ${why}`);

const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/**
 * The URL a proof's `htu` names, as compared: origin and path, no query or fragment
 * (RFC 9449 §4.3 point 9). The WHATWG parser lowercases scheme and host, drops a default
 * port and resolves dot segments; percent-escapes of unreserved characters are decoded
 * and the others' hex uppercased (RFC 3986 §6.2.2.1, §6.2.2.2). Throws a `TypeError` for
 * text that is not an absolute URL.
 */
export function proofTarget(url: string | URL): string {
  const parsed = typeof url === "string" ? new URL(url) : url;
  const path = parsed.pathname.replace(/%[0-9A-Fa-f]{2}/g, (escaped) => {
    const char = String.fromCharCode(Number.parseInt(escaped.slice(1), 16));
    return UNRESERVED.test(char) ? char : escaped.toUpperCase();
  });
  return `${parsed.origin}${path}`;
}

/** RFC 7638 SHA-256 thumbprint of a public JWK, base64url: the value of `cnf.jkt` (RFC 9449 §6.1). */
export function thumbprint(jwk: JWK): Promise<string> {
  return calculateJwkThumbprint(jwk, "sha256");
}

/** RFC 9449 §4.2: `ath` is the base64url SHA-256 of the access token's ASCII text. */
async function accessTokenHash(token: string): Promise<string> {
  return encodeBase64url(await backend.sha256(token));
}

interface ProofKey {
  key: Awaited<ReturnType<typeof importProofKey>>;
  jkt: string;
}

/**
 * Proof keys already imported, with their thumbprints, by algorithm and public members:
 * a client signs every proof with the same key, and the import costs several times the
 * signature check. Public data only, so one bounded map serves every verifier; the
 * oldest entry goes when it is full.
 */
const proofKeys = new Map<string, Promise<ProofKey>>();
const PROOF_KEYS_KEPT = 1024;

function proofKeyOf(members: string, alg: DpopAlg): Promise<ProofKey> {
  const id = `${alg} ${members}`;
  let known = proofKeys.get(id);
  if (!known) {
    known = (async () => ({
      key: await importProofKey(members, alg),
      // RFC 7638 §3: the SHA-256 of the very members imported.
      jkt: encodeBase64url(await backend.sha256(members)),
    }))();
    if (proofKeys.size >= PROOF_KEYS_KEPT) proofKeys.delete(proofKeys.keys().next().value as string);
    proofKeys.set(id, known);
    // A key the runtime refused is not remembered: the refusal is cheap to repeat.
    known.catch(() => proofKeys.delete(id));
  }
  return known;
}

const isTime = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value);

/**
 * Checks a DPoP proof (the `DPoP` header's value) against the request it came with
 * (RFC 9449 §4.3). Resolves with the proof's key thumbprint and identity, or rejects
 * with a `VerifyError` whose `code` is `invalid_dpop_proof` (its message names the fault)
 * or, when the nonce check refused it, `use_dpop_nonce`. Replay (`jti` seen before) is
 * the caller's to refuse, with {@link ProofReplayCache} or a shared store.
 */
export async function checkDpopProof(proof: string, check: ProofCheck): Promise<Proof> {
  const algorithms = check.algorithms ?? DPOP_ALGS;
  const lifetime = check.lifetimeSeconds ?? DPOP_PROOF_LIFETIME_SECONDS;
  const tolerance = check.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE;
  // §4.3 point 5: asymmetric algorithms only, whatever the caller passed.
  const allowed = new Set<string>(algorithms.filter((alg) => DPOP_ALGS.includes(alg)));
  // RFC 9864 §2.2: `Ed25519` is the fully specified name of EdDSA over Ed25519, the name
  // current Web Crypto based clients sign with.
  if (allowed.has("EdDSA")) allowed.add("Ed25519");

  // §4.3 points 1-4: one well-formed JWS whose header has the right typ.
  let jws: ReturnType<typeof parseKeyedJws>;
  try {
    jws = parseKeyedJws(proof, allowed, MAX_PROOF_BYTES);
  } catch (error) {
    throw refuse(error instanceof VerifyError ? error.message : "is malformed");
  }
  if (jws.header.typ !== DPOP_PROOF_TYP) throw refuse(`typ is not ${DPOP_PROOF_TYP}`);
  const alg = (jws.header.alg === "Ed25519" ? "EdDSA" : jws.header.alg) as DpopAlg;

  // §4.3 points 6-7: the signature holds under the public key the header carries.
  let proofKey: ProofKey;
  try {
    proofKey = await proofKeyOf(proofKeyMembers(jws.header.jwk as JWK, alg), alg);
  } catch (error) {
    throw refuse(
      error instanceof TypeError && /^jwk /.test(error.message) ? error.message : "jwk is not a usable key",
    );
  }
  try {
    const checking = checkSignature({ ...jws, header: { alg } }, proofKey.key);
    if (checking) await checking;
  } catch {
    throw refuse("signature does not verify");
  }

  let claims: Record<string, unknown>;
  try {
    claims = parseStrictObject(decodeUtf8(jws.payload));
  } catch {
    throw refuse("claims are not a JSON object");
  }
  const { jti, htm, htu, iat, ath, nonce } = claims;
  if (typeof jti !== "string" || jti.length === 0) throw refuse("jti is missing");
  if (jti.length > MAX_PROOF_JTI_LENGTH) throw refuse("jti is too long");
  // §4.3 point 8: compared exactly, as methods are case-sensitive (RFC 9110 §9.1).
  if (htm !== check.method) throw refuse("htm does not match the request method");
  if (typeof htu !== "string") throw refuse("htu is missing");
  let target: string;
  try {
    target = proofTarget(htu);
  } catch {
    throw refuse("htu is not a URL");
  }
  if (target !== proofTarget(check.url)) throw refuse("htu does not match the request URL");
  // §4.3 point 11, §11.1: only a short window, so a jti is remembered only that long.
  if (!isTime(iat)) throw refuse("iat is missing");
  if (iat > check.now + tolerance) throw refuse("iat is in the future");
  // Refused from `expiresAt` on, the moment a replay cache may forget its jti.
  if (iat <= check.now - lifetime - tolerance) throw refuse("iat is too old");
  if (check.accessToken !== undefined) {
    if (typeof ath !== "string") throw refuse("ath is missing");
    if (ath !== (await accessTokenHash(check.accessToken)))
      throw refuse("ath does not match the access token");
  }
  // §9: last, so a client told to fetch a nonce is not also holding an otherwise bad proof.
  if (nonce !== undefined && typeof nonce !== "string") throw refuse("nonce is not a string");
  if (check.nonce && !check.nonce(nonce)) {
    throw new VerifyError(
      "use_dpop_nonce",
      nonce === undefined ? "DPoP nonce is required" : "DPoP nonce is stale",
    );
  }
  return { jkt: proofKey.jkt, jti, iat, expiresAt: iat + lifetime + tolerance };
}

/**
 * Proof `jti`s already seen, so a captured proof cannot be sent again while its `iat` is
 * still in the window (RFC 9449 §11.1), for one process. Bounded: when full, expired
 * claims are dropped from the oldest end, then the oldest live one is; size it above the
 * number of proofs one process accepts in a proof lifetime. Several instances behind one
 * name need a shared store instead.
 */
export class ProofReplayCache {
  readonly #claims = new Map<string, number>();
  readonly #maxEntries: number;

  constructor(maxEntries: number) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1)
      throw new TypeError("maxEntries must be a positive integer");
    this.#maxEntries = maxEntries;
  }

  /** How many claims are held. */
  get size(): number {
    return this.#claims.size;
  }

  /**
   * True the first time `key` is claimed, or when its earlier claim expired; false while
   * an earlier claim holds. `expiresAt` and `now` in the same unit (seconds for proofs).
   */
  claim(key: string, expiresAt: number, now: number): boolean {
    const held = this.#claims.get(key);
    if (held !== undefined && held > now) return false;
    // Deleted first so the new claim goes to the young end of the insertion order.
    this.#claims.delete(key);
    // Proofs arrive roughly in `iat` order, so expired claims gather at the old end: each
    // claim drops those it finds there, which keeps the cost constant per claim.
    for (const [oldest, until] of this.#claims) {
      if (until > now && this.#claims.size < this.#maxEntries) break;
      this.#claims.delete(oldest);
    }
    this.#claims.set(key, expiresAt);
    return true;
  }
}

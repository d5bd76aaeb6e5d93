import { backend } from "#crypto";
import { decodeCanonical } from "./base64url.js";
import { invalid } from "./errors.js";
import type { Algorithm, JwsAlg, VerificationKey } from "./keys.js";
import { parseStrictObject } from "./strict-json.js";

/** A compact JWS taken apart, before its signature is checked. */
export interface ParsedJws {
  header: Record<string, unknown> & { alg: Algorithm; kid: string };
  /** `BASE64URL(header) "." BASE64URL(payload)` exactly as received (RFC 7515 §5.2). */
  signingInput: string;
  payload: Uint8Array;
  signature: Uint8Array;
}

/** Header parameters that would make a verifier fetch or trust key material named by the token itself. */
const KEY_REFERENCES = ["jku", "x5u", "jwk", "x5c"];

function decodePart(part: string, alg: JwsAlg): Uint8Array {
  const bytes = backend.decodePart(part, alg);
  if (bytes === null) throw invalid("not canonical base64url");
  return bytes;
}

/**
 * RFC 7515 §5.2 steps 3 and 7, RFC 8259 §8.1: the header (and a JWT's claims) are UTF-8
 * JSON; invalid bytes are refused, not silently replaced by U+FFFD.
 */
export function decodeUtf8(bytes: Uint8Array): string {
  const text = backend.decodeUtf8(bytes);
  if (text === null) throw invalid("not UTF-8");
  return text;
}

type Header = ParsedJws["header"];

/** The header checks of RFC 7515 §4 and RFC 8725 §3.1, as prolong applies them. */
function parseHeader(part: string, allowed: ReadonlySet<string>): Header {
  const text = decodeCanonical(part);
  if (text === null) throw invalid("not canonical base64url");
  const header = parseStrictObject(decodeUtf8(text));
  const alg = header.alg;
  if (typeof alg !== "string" || !allowed.has(alg)) throw invalid("algorithm is not allowed");
  for (const name of KEY_REFERENCES) if (name in header) throw invalid(`header parameter ${name} is refused`);
  // RFC 7515 §4.1.11: extensions we do not understand must be rejected; we understand none.
  if ("crit" in header) throw invalid("critical header parameters are not supported");
  if (typeof header.kid !== "string" || header.kid.length === 0 || header.kid.length > 256) {
    throw invalid("kid is missing");
  }
  return Object.freeze(header) as Header;
}

/**
 * Headers that already passed `parseHeader`, keyed by their base64url text. An issuer
 * signs with a handful of kids, so almost every token repeats one of a few headers;
 * the same text always parses the same way, and only accepted headers are kept.
 * Bounded: when full, the oldest is forgotten.
 */
export class HeaderCache {
  readonly #entries = new Map<string, Header>();
  constructor(readonly limit = 32) {}

  get(part: string): Header | undefined {
    return this.#entries.get(part);
  }

  remember(part: string, header: Header): void {
    if (this.#entries.size >= this.limit) this.#entries.delete(this.#entries.keys().next().value as string);
    this.#entries.set(part, header);
  }
}

/** The three parts of a compact JWS (RFC 7515 §7.1), header and signature non-empty. */
function split(token: string, maxBytes: number): [string, string, string] {
  if (typeof token !== "string" || token.length === 0) throw invalid("token is empty");
  if (token.length > maxBytes) throw invalid("token is too large");
  const first = token.indexOf(".");
  const second = token.indexOf(".", first + 1);
  // An empty payload is a valid JWS (RFC 7515 §7.1); the claims check refuses it later.
  if (first <= 0 || second < 0 || second === token.length - 1 || token.indexOf(".", second + 1) !== -1) {
    throw invalid("token is not a compact JWS");
  }
  return [token.slice(0, first), token.slice(first + 1, second), token.slice(second + 1)];
}

/**
 * Parses a compact JWS strictly (RFC 7515 §7.1): three parts (header and signature non-empty), canonical
 * base64url, an object header with an allowed `alg`, a string `kid`, no key
 * references, no `crit`. Size is checked before anything else is done.
 */
export function parseCompactJws(
  token: string,
  allowed: ReadonlySet<string>,
  maxBytes: number,
  headers?: HeaderCache,
): ParsedJws {
  const [headerPart, payloadPart, signaturePart] = split(token, maxBytes);
  let header = headers?.get(headerPart);
  if (!header) {
    header = parseHeader(headerPart, allowed);
    headers?.remember(headerPart, header);
  }
  // A JWS payload is any octets (RFC 7515 §2); only the JWT layer requires JSON in UTF-8.
  const payload = decodePart(payloadPart, header.alg);
  const signature = decodePart(signaturePart, header.alg);
  return {
    header,
    signingInput: `${headerPart}.${payloadPart}`,
    payload,
    signature,
  };
}

/** A JWS that carries its own public key in the header (a DPoP proof, RFC 9449 §4.2). */
export interface ParsedKeyedJws {
  header: Record<string, unknown> & { alg: string; jwk: Record<string, unknown> };
  signingInput: string;
  payload: Uint8Array;
  signature: Uint8Array;
}

/**
 * Parses a compact JWS whose key is the `jwk` header parameter (RFC 9449 §4.2): the same
 * strict parsing as {@link parseCompactJws}, but `jwk` is required to be an object and
 * `kid` is not asked for. Key references that point elsewhere (`jku`, `x5u`, `x5c`) and
 * `crit` are still refused. Which `jwk` is acceptable is the caller's decision.
 */
export function parseKeyedJws(token: string, allowed: ReadonlySet<string>, maxBytes: number): ParsedKeyedJws {
  const [headerPart, payloadPart, signaturePart] = split(token, maxBytes);
  const text = decodeCanonical(headerPart);
  if (text === null) throw invalid("not canonical base64url");
  const header = parseStrictObject(decodeUtf8(text));
  const alg = header.alg;
  if (typeof alg !== "string" || !allowed.has(alg)) throw invalid("algorithm is not allowed");
  for (const name of ["jku", "x5u", "x5c"])
    if (name in header) throw invalid(`header parameter ${name} is refused`);
  if ("crit" in header) throw invalid("critical header parameters are not supported");
  const jwk = header.jwk;
  if (typeof jwk !== "object" || jwk === null || Array.isArray(jwk)) throw invalid("jwk is missing");
  // Node's native decoder is only taken for HS256, never allowed here: any alg decodes alike.
  const payload = decodePart(payloadPart, "ES256");
  const signature = decodePart(signaturePart, "ES256");
  return {
    header: header as ParsedKeyedJws["header"],
    signingInput: `${headerPart}.${payloadPart}`,
    payload,
    signature,
  };
}

const SIGNATURE_BYTES: Partial<Record<JwsAlg, number>> = { EdDSA: 64, ES256: 64, HS256: 32 };

/**
 * Checks the signature over the bytes as received, with a key of the header's algorithm.
 * Returns nothing when it holds, a promise on runtimes whose crypto is asynchronous (Web
 * Crypto); throws (or rejects) `invalid_token` when it does not.
 */
export function checkSignature(
  jws: Pick<ParsedJws, "signingInput" | "signature"> & { header: { alg: string } },
  key: { alg: JwsAlg; key: VerificationKey["key"] },
): void | Promise<void> {
  if (key.alg !== jws.header.alg) throw invalid("algorithm does not match the key");
  const expected = SIGNATURE_BYTES[key.alg];
  if (expected !== undefined && jws.signature.length !== expected)
    throw invalid("signature has the wrong length");
  const verdict = backend.verify(key.alg, key.key, jws.signingInput, jws.signature);
  if (verdict === true) return;
  if (verdict === false) throw invalid("signature does not verify");
  return verdict.then((ok) => {
    if (!ok) throw invalid("signature does not verify");
  });
}

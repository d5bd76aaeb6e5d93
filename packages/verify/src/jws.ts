import { isUtf8 } from "node:buffer";
import { createHmac, verify as cryptoVerify, timingSafeEqual } from "node:crypto";
import { invalid } from "./errors.js";
import type { Algorithm, VerificationKey } from "./keys.js";
import { parseStrictObject } from "./strict-json.js";

/** A compact JWS taken apart, before its signature is checked. */
export interface ParsedJws {
  header: Record<string, unknown> & { alg: Algorithm; kid: string };
  /** `BASE64URL(header) "." BASE64URL(payload)` exactly as received (RFC 7515 §5.2). */
  signingInput: string;
  payload: Buffer;
  signature: Buffer;
}

/** Header parameters that would make a verifier fetch or trust key material named by the token itself. */
const KEY_REFERENCES = ["jku", "x5u", "jwk", "x5c"];

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/** Sextet of each base64url character by its code (RFC 4648 §5), -1 for anything else. */
const SEXTETS = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) SEXTETS[ALPHABET.charCodeAt(i)] = i;
const sextet = (code: number): number => (code < 128 ? (SEXTETS[code] as number) : -1);

/**
 * One spelling per byte string: no padding, no foreign characters, and the unused low
 * bits of the last character zero. Otherwise several strings decode alike and a
 * "different" token would verify with the same signature (malleability).
 */
export function isCanonicalBase64url(text: string): boolean {
  return decodeCanonical(text) !== null;
}

/**
 * The bytes `text` spells, or null unless it is their one canonical spelling (above),
 * checked as it is decoded. Node's own decoder is lenient (it skips what it cannot read,
 * takes `+`, `/` and `=`); worse, measured on Node 20, a native base64 decode slows the
 * signature check that follows by several microseconds (EdDSA, ES256), more than this
 * loop costs. HMAC is the exception: see {@link decodeCanonicalNative}.
 */
function decodeCanonical(text: string): Buffer | null {
  const length = text.length;
  const rest = length & 3;
  if (rest === 1) return null;
  const out = Buffer.allocUnsafe((length * 3) >> 2);
  const whole = length - rest;
  let o = 0;
  let i = 0;
  for (; i < whole; i += 4) {
    const a = sextet(text.charCodeAt(i));
    const b = sextet(text.charCodeAt(i + 1));
    const c = sextet(text.charCodeAt(i + 2));
    const d = sextet(text.charCodeAt(i + 3));
    if ((a | b | c | d) < 0) return null;
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = n >> 16;
    out[o++] = (n >> 8) & 0xff;
    out[o++] = n & 0xff;
  }
  if (rest === 2) {
    const a = sextet(text.charCodeAt(i));
    const b = sextet(text.charCodeAt(i + 1));
    // Two characters carry one byte: the last one's low four bits are unused, so zero.
    if ((a | b) < 0 || (b & 0x0f) !== 0) return null;
    out[o] = (a << 2) | (b >> 4);
  } else if (rest === 3) {
    const a = sextet(text.charCodeAt(i));
    const b = sextet(text.charCodeAt(i + 1));
    const c = sextet(text.charCodeAt(i + 2));
    // Three characters carry two bytes: the last one's low two bits are unused.
    if ((a | b | c) < 0 || (c & 0x03) !== 0) return null;
    out[o++] = (a << 2) | (b >> 4);
    out[o] = ((b & 0x0f) << 4) | (c >> 2);
  }
  return out;
}

/**
 * The same answer as {@link decodeCanonical}, from Node's decoder and a check that the
 * bytes encode back to `text`. Faster for HS256 tokens, whose check is a few
 * microseconds of HMAC that the native decode barely slows (measured with bench/verify.mjs).
 */
function decodeCanonicalNative(text: string): Buffer | null {
  const bytes = Buffer.from(text, "base64url");
  return bytes.toString("base64url") === text ? bytes : null;
}

function decodePart(part: string, alg: Algorithm): Buffer {
  const bytes = alg === "HS256" ? decodeCanonicalNative(part) : decodeCanonical(part);
  if (bytes === null) throw invalid("not canonical base64url");
  return bytes;
}

/**
 * RFC 7515 §5.2 steps 3 and 7, RFC 8259 §8.1: the header (and a JWT's claims) are UTF-8
 * JSON; invalid bytes are refused, not silently replaced by U+FFFD.
 */
export function decodeUtf8(bytes: Buffer): string {
  if (!isUtf8(bytes)) throw invalid("not UTF-8");
  return bytes.toString("utf8");
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
  if (typeof token !== "string" || token.length === 0) throw invalid("token is empty");
  if (token.length > maxBytes) throw invalid("token is too large");
  const first = token.indexOf(".");
  const second = token.indexOf(".", first + 1);
  // An empty payload is a valid JWS (RFC 7515 §7.1); the claims check refuses it later.
  if (first <= 0 || second < 0 || second === token.length - 1 || token.indexOf(".", second + 1) !== -1) {
    throw invalid("token is not a compact JWS");
  }
  const headerPart = token.slice(0, first);
  const payloadPart = token.slice(first + 1, second);
  let header = headers?.get(headerPart);
  if (!header) {
    header = parseHeader(headerPart, allowed);
    headers?.remember(headerPart, header);
  }
  // A JWS payload is any octets (RFC 7515 §2); only the JWT layer requires JSON in UTF-8.
  const payload = decodePart(payloadPart, header.alg);
  const signature = decodePart(token.slice(second + 1), header.alg);
  return {
    header,
    signingInput: token.slice(0, second),
    payload,
    signature,
  };
}

const SIGNATURE_BYTES: Partial<Record<Algorithm, number>> = { EdDSA: 64, ES256: 64, HS256: 32 };

/** Checks the signature over the bytes as received, with a key of the header's algorithm. */
export function checkSignature(jws: ParsedJws, key: VerificationKey): void {
  if (key.alg !== jws.header.alg) throw invalid("algorithm does not match the key");
  const expected = SIGNATURE_BYTES[key.alg];
  if (expected !== undefined && jws.signature.length !== expected)
    throw invalid("signature has the wrong length");
  // HMAC takes the text as it is (base64url and a dot: ASCII, so latin1 is its bytes);
  // the signature checks need the bytes in a buffer.
  if (key.alg === "HS256") {
    const mac = createHmac("sha256", key.key).update(jws.signingInput, "latin1").digest();
    if (!timingSafeEqual(mac, jws.signature)) throw invalid("signature does not verify");
    return;
  }
  const data = Buffer.from(jws.signingInput, "latin1");
  let ok: boolean;
  switch (key.alg) {
    case "EdDSA":
      ok = cryptoVerify(null, data, key.key, jws.signature);
      break;
    case "ES256":
      // JWS carries R||S (RFC 7518 §3.4), not DER.
      ok = cryptoVerify("sha256", data, { key: key.key, dsaEncoding: "ieee-p1363" }, jws.signature);
      break;
    case "RS256":
      ok = cryptoVerify("sha256", data, key.key, jws.signature);
      break;
  }
  if (!ok) throw invalid("signature does not verify");
}

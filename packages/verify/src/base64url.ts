/**
 * Canonical base64url (RFC 4648 §5) decoding on plain arrays, so it runs wherever the
 * verifier runs. One spelling per byte string: no padding, no foreign characters, and
 * the unused low bits of the last character zero. Otherwise several strings decode
 * alike and a "different" token would verify with the same signature (malleability).
 */

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/** Sextet of each base64url character by its code, -1 for anything else. */
const SEXTETS = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) SEXTETS[ALPHABET.charCodeAt(i)] = i;
const sextet = (code: number): number => (code < 128 ? (SEXTETS[code] as number) : -1);

/**
 * The bytes `text` spells, or null unless it is their one canonical spelling, checked as
 * it is decoded. `allocate` makes the output array (Node's pool is cheaper than a zeroed
 * array); every byte of it is written.
 */
export function decodeCanonical(
  text: string,
  allocate: (length: number) => Uint8Array = (length) => new Uint8Array(length),
): Uint8Array | null {
  const length = text.length;
  const rest = length & 3;
  if (rest === 1) return null;
  const out = allocate((length * 3) >> 2);
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

/** Whether `text` is the canonical base64url spelling of some bytes. */
export function isCanonicalBase64url(text: string): boolean {
  return decodeCanonical(text) !== null;
}

/** The canonical base64url spelling of `bytes` (RFC 4648 §5, no padding). */
export function encodeBase64url(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
    out +=
      ALPHABET.charAt(n >> 18) +
      ALPHABET.charAt((n >> 12) & 63) +
      ALPHABET.charAt((n >> 6) & 63) +
      ALPHABET.charAt(n & 63);
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = (bytes[i] as number) << 16;
    out += ALPHABET.charAt(n >> 18) + ALPHABET.charAt((n >> 12) & 63);
  } else if (rest === 2) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8);
    out += ALPHABET.charAt(n >> 18) + ALPHABET.charAt((n >> 12) & 63) + ALPHABET.charAt((n >> 6) & 63);
  }
  return out;
}

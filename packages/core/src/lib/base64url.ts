/** base64url without padding (RFC 4648 §5), on Node's native codec. */

const ALPHABET = /^[A-Za-z0-9_-]*$/;

export function encodeBase64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64url");
}

/**
 * Decodes `text` into exactly `length` bytes, or `null`. Only the canonical spelling
 * is accepted: Node's decoder skips foreign characters and ignores the spare low bits
 * of the last character (RFC 4648 §3.5), so length and alphabet are checked first and
 * the bytes must re-encode to the very same text. One value, one spelling.
 */
export function decodeBase64url(text: string, length: number): Buffer | null {
  if (typeof text !== "string" || text.length !== Math.ceil((length * 4) / 3) || !ALPHABET.test(text)) {
    return null;
  }
  const bytes = Buffer.from(text, "base64url");
  return bytes.length === length && bytes.toString("base64url") === text ? bytes : null;
}

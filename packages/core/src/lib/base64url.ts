/** base64url without padding (RFC 4648 §5), on Node's native codec. */

const ALPHABET = /^[A-Za-z0-9_-]*$/;

export function encodeBase64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64url");
}

/**
 * Decodes `text` into its bytes (exactly `length` of them when given), or `null`. Only
 * the canonical spelling is accepted: Node's decoder skips foreign characters and
 * ignores the spare low bits of the last character (RFC 4648 §3.5), so length and
 * alphabet are checked first and the bytes must re-encode to the very same text. One
 * value, one spelling.
 */
export function decodeBase64url(text: string, length?: number): Buffer | null {
  if (typeof text !== "string" || !ALPHABET.test(text)) return null;
  if (length !== undefined && text.length !== Math.ceil((length * 4) / 3)) return null;
  const bytes = Buffer.from(text, "base64url");
  if (length !== undefined && bytes.length !== length) return null;
  return bytes.toString("base64url") === text ? bytes : null;
}

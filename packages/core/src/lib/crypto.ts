/*
 * The hash and MAC primitives of the server's hot path, on node:crypto. WebCrypto
 * (`crypto.subtle`) would give the same bytes, but on Node each of its calls hops to
 * the libuv thread pool and back, which costs more than the hash itself; a refresh
 * makes five such calls in the refresh-token codec alone (docs/architecture.md,
 * bench/primitives.mjs). Only the server runs this package; code that must run in
 * browsers (packages/client) stays on Web APIs.
 */
import { createHash, createHmac, createSecretKey, type KeyObject, timingSafeEqual } from "node:crypto";

/** An HMAC key, prepared once and reused for every MAC. */
export type MacKey = KeyObject;

export function macKey(secret: Uint8Array): MacKey {
  return createSecretKey(secret);
}

/** HMAC-SHA-256 (RFC 2104) of the concatenation of `parts`. */
export function hmacSha256(key: MacKey, ...parts: Uint8Array[]): Buffer {
  const mac = createHmac("sha256", key);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

/** SHA-256 of the UTF-8 text, base64url (RFC 4648 §5) without padding. */
export function sha256Base64url(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("base64url");
}

/** Equality in time that depends only on the length, so a forger learns nothing from timing. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

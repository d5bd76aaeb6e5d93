import { equalBytes } from "./lib/crypto.js";

const encoder = new TextEncoder();

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/**
 * Compares two strings in time that depends only on their length, so a caller
 * cannot learn how many leading characters of a secret hash it guessed right.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  return equalBytes(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

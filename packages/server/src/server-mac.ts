import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from "node:crypto";

/**
 * The MAC of the server's self-checking values (device tokens, DBSC challenges and bound
 * cookies): HMAC-SHA-256 under a key kept in the store (`sharedSecret`), so every
 * instance on one store issues and accepts the same ones. Each kind puts its own label
 * first in what it MACs, so a tag of one kind is never valid as another's.
 */
export class ServerMac {
  readonly #key: KeyObject;

  /** @param what names the key in the error a short secret gets. */
  constructor(secret: Uint8Array, what: string) {
    if (secret.length < 32) throw new RangeError(`${what} key must be at least 256 bits`);
    this.#key = createSecretKey(secret);
  }

  /** The first 16 bytes (128 bits, RFC 2104 §5's truncation) of the HMAC of `text`, base64url: 22 characters. */
  tag(text: string): string {
    return createHmac("sha256", this.#key)
      .update(text, "utf8")
      .digest()
      .subarray(0, 16)
      .toString("base64url");
  }

  /**
   * Whether `tag` is the tag of `text`, in constant time. Compared as text, not decoded:
   * decoding would let a tag's unused low bits vary, making copies of one value that
   * count as others (each with a budget or a claim of its own).
   */
  matches(text: string, tag: string): boolean {
    const expected = Buffer.from(this.tag(text), "latin1");
    const given = Buffer.from(tag, "latin1");
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}

import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * How long one nonce is current, in seconds. The previous window's nonce is accepted too,
 * so a nonce works for between one and two windows: long enough that a client rarely
 * needs the `use_dpop_nonce` round trip, short enough that proofs cannot be made ahead
 * for long (RFC 9449 §8, §11.2).
 */
export const DPOP_NONCE_WINDOW_SECONDS = 120;

/**
 * Server-provided DPoP nonces (RFC 9449 §8) without any state: the nonce of a time window
 * is an HMAC of the window's number under a key derived from the resource secret, which
 * every instance on one store holds (`resourceSecretOf`), so every instance hands out and
 * accepts the same nonces without a write or a shared cache. The current and the previous
 * window's nonces are accepted, so a nonce handed out just before a window ends still works.
 */
export class DpopNonces {
  readonly #key: Buffer;
  readonly #now: () => number;

  /**
   * @param secret the resource secret; a key for nonces alone is derived from it, so a
   *   nonce (which travels in the clear) is never a MAC under a key used for anything else.
   * @param now milliseconds since the epoch (the engine's clock).
   */
  constructor(secret: string, now: () => number) {
    this.#key = createHmac("sha256", secret).update("prolong dpop nonce").digest();
    this.#now = now;
  }

  /** The nonce to hand out now, in `DPoP-Nonce` (RFC 9449 §8.1: base64url, no padding). */
  current(): string {
    return this.#of(this.#window());
  }

  /** True when `nonce` is the current window's or the previous one's. */
  accepts(nonce: string | undefined): boolean {
    if (typeof nonce !== "string") return false;
    const given = Buffer.from(nonce);
    const window = this.#window();
    return [window, window - 1].some((w) => {
      const expected = Buffer.from(this.#of(w));
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
  }

  #window(): number {
    return Math.floor(this.#now() / 1000 / DPOP_NONCE_WINDOW_SECONDS);
  }

  #of(window: number): string {
    // 128 bits: a nonce need only be unguessable, and shorter ones keep proofs small.
    return createHmac("sha256", this.#key)
      .update(String(window))
      .digest()
      .subarray(0, 16)
      .toString("base64url");
  }
}

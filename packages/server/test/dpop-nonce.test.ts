import { describe, expect, it } from "vitest";
import { DPOP_NONCE_WINDOW_SECONDS, DpopNonces } from "../src/dpop-nonce.js";

const WINDOW_MS = DPOP_NONCE_WINDOW_SECONDS * 1000;
const SECRET = "resource-secret-for-tests";

describe("DPoP nonces (RFC 9449 §8)", () => {
  it("are base64url, the same on every instance with the same secret, and none of another secret's", () => {
    let now = 1_800_000_000_000;
    const one = new DpopNonces(SECRET, () => now);
    const two = new DpopNonces(SECRET, () => now);
    const other = new DpopNonces("another-resource-secret", () => now);
    expect(one.current()).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(two.accepts(one.current())).toBe(true);
    expect(other.accepts(one.current())).toBe(false);
    now += 1;
    expect(one.current()).toBe(two.current());
  });

  it("accept the current and the previous window's nonce, and no older or later one", () => {
    let now = 1_800_000_000_000;
    const nonces = new DpopNonces(SECRET, () => now);
    const first = nonces.current();
    now += WINDOW_MS;
    const second = nonces.current();
    expect(second).not.toBe(first);
    expect(nonces.accepts(first)).toBe(true);
    expect(nonces.accepts(second)).toBe(true);
    now += WINDOW_MS;
    expect(nonces.accepts(first)).toBe(false);
    expect(nonces.accepts(second)).toBe(true);
    // A nonce of a window to come is not handed out yet, so it is no one's.
    const later = new DpopNonces(SECRET, () => now + WINDOW_MS).current();
    expect(nonces.accepts(later)).toBe(false);
  });

  it("refuse a missing, empty or altered nonce", () => {
    const nonces = new DpopNonces(SECRET, () => 1_800_000_000_000);
    const nonce = nonces.current();
    expect(nonces.accepts(undefined)).toBe(false);
    expect(nonces.accepts("")).toBe(false);
    expect(nonces.accepts(`${nonce}A`)).toBe(false);
    expect(nonces.accepts(`${nonce.slice(0, -1)}${nonce.endsWith("A") ? "B" : "A"}`)).toBe(false);
  });
});

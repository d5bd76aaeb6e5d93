import { describe, expect, it } from "vitest";
import { DPOP_NONCE_WINDOW_SECONDS, serverNonces } from "../src/dpop.js";

const WINDOW_MS = DPOP_NONCE_WINDOW_SECONDS * 1000;
const SECRET = "resource-secret-for-tests";

describe("DPoP nonces (RFC 9449 §8)", () => {
  it("are base64url, the same on every instance with the same secret, and none of another secret's", async () => {
    let now = 1_800_000_000_000;
    const one = serverNonces(SECRET, () => now);
    const two = serverNonces(SECRET, () => now);
    const other = serverNonces("another-resource-secret", () => now);
    expect(await one.current()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await two.accepts(await one.current())).toBe(true);
    expect(await other.accepts(await one.current())).toBe(false);
    now += 1;
    expect(await one.current()).toBe(await two.current());
  });

  it("accept the current and the previous window's nonce, and no older or later one", async () => {
    let now = 1_800_000_000_000;
    const nonces = serverNonces(SECRET, () => now);
    const first = await nonces.current();
    now += WINDOW_MS;
    const second = await nonces.current();
    expect(second).not.toBe(first);
    expect(await nonces.accepts(first)).toBe(true);
    expect(await nonces.accepts(second)).toBe(true);
    now += WINDOW_MS;
    expect(await nonces.accepts(first)).toBe(false);
    expect(await nonces.accepts(second)).toBe(true);
    // A nonce of a window to come is not handed out yet, so it is no one's.
    const later = await serverNonces(SECRET, () => now + WINDOW_MS).current();
    expect(await nonces.accepts(later)).toBe(false);
  });

  it("refuse an empty or altered nonce", async () => {
    const nonces = serverNonces(SECRET, () => 1_800_000_000_000);
    const nonce = await nonces.current();
    expect(await nonces.accepts("")).toBe(false);
    expect(await nonces.accepts(`${nonce}A`)).toBe(false);
    expect(await nonces.accepts(`${nonce.slice(0, -1)}${nonce.endsWith("A") ? "B" : "A"}`)).toBe(false);
  });
});

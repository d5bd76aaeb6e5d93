import {
  constantTimeEqual,
  defaultPolicy,
  hashPassword,
  hashRefreshToken,
  ProlongError,
  RefreshTokenCodec,
  validatePolicy,
  verifyPassword,
} from "@prolong/core";
import { describe, expect, it } from "vitest";

const secret = new Uint8Array(32).fill(9);
const fixedRandom = { bytes: (n: number) => new Uint8Array(n).fill(1) };
const sessionId = Buffer.alloc(16, 2).toString("base64url");

describe("refresh-token codec", () => {
  it("derives the same successor from the same token and a different one from the next", async () => {
    const codec = await RefreshTokenCodec.create(secret);
    const first = await codec.issue(sessionId, fixedRandom);
    const a = await codec.next(first);
    const b = await codec.next(first);
    expect(a.value).toBe(b.value);
    expect(a.generation).toBe(1);
    expect((await codec.next(a)).value).not.toBe(a.value);
  });

  it("opens its own tokens and nothing minted under another secret", async () => {
    const codec = await RefreshTokenCodec.create(secret);
    const other = await RefreshTokenCodec.create(new Uint8Array(32).fill(8));
    const token = await codec.issue(sessionId, fixedRandom);
    const opened = await codec.open(token.value);
    expect(opened).toMatchObject({ sessionId, generation: 0, hash: token.hash });
    expect(await other.open(token.value)).toBeNull();
  });

  it("refuses non-canonical spellings of a valid token", async () => {
    const codec = await RefreshTokenCodec.create(secret);
    const token = await codec.issue(sessionId, fixedRandom);
    const last = token.value.at(-1) as string;
    // 68 bytes leave 2 spare bits in the last character; flipping them decodes to the same bytes.
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const twin = token.value.slice(0, -1) + alphabet[alphabet.indexOf(last) ^ 1];
    expect(Buffer.from(twin, "base64url").equals(Buffer.from(token.value, "base64url"))).toBe(true);
    expect(await codec.open(twin)).toBeNull();
  });

  it("hashes with SHA-256 so the store never sees the token", async () => {
    const hash = await hashRefreshToken("abc");
    expect(hash).toBe(
      Buffer.from(await crypto.subtle.digest("SHA-256", new TextEncoder().encode("abc"))).toString(
        "base64url",
      ),
    );
  });

  it("refuses a secret shorter than 256 bits", async () => {
    await expect(RefreshTokenCodec.create(new Uint8Array(16))).rejects.toThrow(RangeError);
  });
});

describe("constant-time comparison", () => {
  it("is equality", () => {
    expect(constantTimeEqual("abc", "abc")).toBe(true);
    expect(constantTimeEqual("abc", "abd")).toBe(false);
    expect(constantTimeEqual("abc", "ab")).toBe(false);
  });
});

describe("passwords", () => {
  it("hash with scrypt at the default cost, salted, and verify", async () => {
    const a = await hashPassword("correct horse");
    const b = await hashPassword("correct horse");
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword("correct horse", a)).toBe(true);
    expect(await verifyPassword("correct horsE", a)).toBe(false);
    expect(await verifyPassword("correct horse", "md5$abc")).toBe(false);
  });
});

describe("policy", () => {
  it("has the documented defaults", () => {
    const policy = defaultPolicy();
    expect(policy.profiles.web).toMatchObject({
      accessTokenTtl: 300,
      idleTimeout: 7 * 86_400,
      absoluteLifetime: 30 * 86_400,
      graceWindow: 30,
      refreshTransport: "cookie",
      exchange: false,
    });
    expect(policy.profiles.native).toMatchObject({
      idleTimeout: 90 * 86_400,
      absoluteLifetime: null,
      refreshTransport: "body",
      exchange: false,
    });
  });

  it("allows the stateless exchange only on a profile with an absolute lifetime", () => {
    const unlimited = defaultPolicy();
    (unlimited.profiles.native as { exchange: boolean }).exchange = true;
    expect(() => validatePolicy(unlimited)).toThrow(/profiles\.native\.exchange: needs an absoluteLifetime/);
    const bounded = defaultPolicy();
    (bounded.profiles.web as { exchange: boolean }).exchange = true;
    expect(() => validatePolicy(bounded)).not.toThrow();
  });

  it("names the setting that is wrong", () => {
    const policy = defaultPolicy();
    (policy.profiles.web as { idleTimeout: number }).idleTimeout = -1;
    expect(() => validatePolicy(policy)).toThrow(ProlongError);
    expect(() => validatePolicy(policy)).toThrow(/profiles\.web\.idleTimeout/);
    const dangling = defaultPolicy();
    dangling.clients.ios = { profile: "mobile" };
    expect(() => validatePolicy(dangling)).toThrow(/clients\.ios\.profile/);
  });
});

import {
  checkedPolicy,
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

  it("refuses the standard base64 alphabet, padding and stray characters", async () => {
    const codec = await RefreshTokenCodec.create(secret);
    const { value } = await codec.issue(Buffer.alloc(16, 0xfb).toString("base64url"), fixedRandom);
    expect(value).toMatch(/[-_]/);
    // Node's decoder reads "+" and "/" as "-" and "_" and skips what it does not know.
    const spellings = [
      value.replaceAll("-", "+").replaceAll("_", "/"),
      `${value.slice(0, -1)}=`,
      `${value.slice(0, 45)}.${value.slice(46)}`,
      ` ${value.slice(1)}`,
    ];
    for (const spelling of spellings) {
      expect(spelling).toHaveLength(value.length);
      expect(await codec.open(spelling)).toBeNull();
    }
    expect(await codec.open(`${value}=`)).toBeNull();
    expect(await codec.open(value)).not.toBeNull();
  });

  it("hashes with SHA-256 so the store never sees the token", async () => {
    const hash = await hashRefreshToken("abc");
    expect(hash).toBe(
      Buffer.from(await crypto.subtle.digest("SHA-256", new TextEncoder().encode("abc"))).toString(
        "base64url",
      ),
    );
  });

  it("refuses a secret shorter than 256 bits", () => {
    expect(() => RefreshTokenCodec.create(new Uint8Array(16))).toThrow(RangeError);
  });
});

/*
 * Tokens already held by clients must keep opening, and must keep deriving the same
 * successor (the replay rule of docs/protocol.md depends on it), whatever primitives
 * the codec is built on. These texts were minted by the codec as it stood on
 * crypto.subtle; a change of layout, labels, byte order or encoding breaks them.
 */
describe("refresh-token compatibility", () => {
  const fixedSecret = Uint8Array.from({ length: 32 }, (_, i) => i);
  const countingRandom = { bytes: (n: number) => Uint8Array.from({ length: n }, (_, i) => 0xa0 + i) };
  const fixedSessionId = "8O_u7ezr6uno5-bl5OPi4Q";
  const minted = [
    {
      value: "8O_u7ezr6uno5-bl5OPi4QAAAACgoaKjpKWmp6ipqqusra6vsLGys7S1tre4ubq7vL2-v9dJ8dL87xpZOB4hNWRlZqo",
      hash: "pdtpEHY18N1iqHCvgjMYDrYVbEBUL_ZWtiUm6HzqUNk",
    },
    {
      value: "8O_u7ezr6uno5-bl5OPi4QAAAAHy5QYt5wNb9O1DowhSOd95OqmqjDyxDv5jJw2fwnfWUlw2ZiA3AM7XKKok1_SNgLw",
      hash: "7Kr28KXYrItaI_QFHfJT7Q-CrcwaQ0_sEzcwIikGaUs",
    },
    {
      value: "8O_u7ezr6uno5-bl5OPi4QAAAAI6Hx_Kyr62EcRb3YfzFTPJUHGA6eaDQjBkkQQcEhaAVmk8dP-OMVSxlog_QfTMLFw",
      hash: "CNwAj97-BDs2Pms3_Pqwwlc1rBgQn_9dCGNUrv6NBWk",
    },
  ] as const;

  it("mints the same first token from the same secret and random bytes", async () => {
    const codec = await RefreshTokenCodec.create(fixedSecret);
    const token = await codec.issue(fixedSessionId, countingRandom);
    expect({ value: token.value, hash: token.hash }).toEqual(minted[0]);
  });

  it("opens every previously minted generation and derives the same successors", async () => {
    const codec = await RefreshTokenCodec.create(fixedSecret);
    for (const [generation, expected] of minted.entries()) {
      const opened = await codec.open(expected.value);
      expect(opened).toMatchObject({ sessionId: fixedSessionId, generation, ...expected });
      const successor = minted[generation + 1];
      if (opened && successor) {
        const next = await codec.next(opened);
        expect({ value: next.value, hash: next.hash }).toEqual(successor);
      }
    }
  });

  it("hashes a token to the same store key as before", async () => {
    expect(await hashRefreshToken(minted[1].value)).toBe(minted[1].hash);
    expect(await hashRefreshToken("abc")).toBe("ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
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
      dpop: "off",
    });
    expect(policy.profiles.native).toMatchObject({
      idleTimeout: 90 * 86_400,
      absoluteLifetime: null,
      refreshTransport: "body",
      exchange: false,
      dpop: "off",
    });
  });

  it("takes dpop as off, allowed or required, naming the setting otherwise", () => {
    const policy = defaultPolicy();
    (policy.profiles.native as { dpop: string }).dpop = "required";
    expect(() => validatePolicy(policy)).not.toThrow();
    (policy.profiles.native as { dpop: string }).dpop = "on";
    expect(() => validatePolicy(policy)).toThrow(
      /profiles\.native\.dpop: must be "off", "allowed" or "required"/,
    );
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

  it.each([
    ["idleTimeout", 1e13, /profiles\.web\.idleTimeout: must be at most 315360000 s \(10 years\)/],
    ["absoluteLifetime", 3650 * 86_400 + 1, /profiles\.web\.absoluteLifetime: must be at most/],
    ["accessTokenTtl", 86_401, /profiles\.web\.accessTokenTtl: must be at most 86400 s \(1 day\)/],
    ["accessTokenTtl", 2.5, /profiles\.web\.accessTokenTtl: must be a whole number of seconds/],
    ["graceWindow", 3601, /profiles\.web\.graceWindow: must be at most 3600 s \(1 hour\)/],
    ["graceWindow", Number.NaN, /profiles\.web\.graceWindow: must be a whole number/],
  ])("refuses %s = %s, naming the setting", (setting, value, message) => {
    const policy = defaultPolicy();
    Object.assign(policy.profiles.web as object, { [setting]: value });
    expect(() => validatePolicy(policy)).toThrow(message);
  });

  it("checks a policy once: a frozen copy, which is given back as it is", () => {
    const bad = defaultPolicy();
    (bad.profiles.web as { idleTimeout: number }).idleTimeout = -1;
    expect(() => checkedPolicy(bad)).toThrow(/profiles\.web\.idleTimeout/);
    const policy = defaultPolicy();
    const checked = checkedPolicy(policy);
    expect(checked).not.toBe(policy);
    expect(checked).toEqual(policy);
    expect(Object.isFrozen(checked.profiles.web)).toBe(true);
    expect(Object.isFrozen(checked.clients)).toBe(true);
    expect(checkedPolicy(checked)).toBe(checked);
    // The caller's own object stays theirs to change.
    (policy.profiles.web as { idleTimeout: number }).idleTimeout = 60;
    expect(checked.profiles.web?.idleTimeout).toBe(7 * 86_400);
  });

  it("accepts the largest value of each bound", () => {
    const policy = defaultPolicy();
    Object.assign(policy.profiles.web as object, {
      accessTokenTtl: 86_400,
      idleTimeout: 3650 * 86_400,
      absoluteLifetime: 3650 * 86_400,
      graceWindow: 3600,
    });
    expect(() => validatePolicy(policy)).not.toThrow();
  });
});

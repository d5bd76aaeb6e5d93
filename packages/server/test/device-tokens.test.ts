import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { describe, expect, it } from "vitest";
import { testApp } from "./fixtures.js";

// Loopback addresses only: inject() sends nothing anywhere.
const OFFICE = "127.0.0.10";
const HOME = "127.0.0.20";
const ALICE = "alice's own passphrase";
const DEVICE_COOKIE = "__Host-prolong-device";

interface Attempt {
  cookie?: string;
  deviceToken?: string;
  clientId?: string;
  remoteAddress?: string;
}

function signIn(app: FastifyInstance, username: string, password: string, attempt: Attempt = {}) {
  return app.inject({
    method: "POST",
    url: "/login",
    remoteAddress: attempt.remoteAddress ?? OFFICE,
    headers: attempt.cookie === undefined ? {} : { cookie: `${DEVICE_COOKIE}=${attempt.cookie}` },
    payload: {
      username,
      password,
      ...(attempt.clientId === undefined ? {} : { client_id: attempt.clientId }),
      ...(attempt.deviceToken === undefined ? {} : { device_token: attempt.deviceToken }),
    },
  });
}

/** The `Set-Cookie` line of the device cookie, if the answer set one. */
function deviceSetCookie(response: LightMyRequestResponse): string | undefined {
  return [response.headers["set-cookie"] ?? []].flat().find((c) => c.startsWith(`${DEVICE_COOKIE}=`));
}

function deviceCookieOf(response: LightMyRequestResponse): string {
  const line = deviceSetCookie(response);
  if (!line) throw new Error(`no device cookie in ${JSON.stringify(response.headers["set-cookie"])}`);
  return (line.split(";")[0] as string).slice(DEVICE_COOKIE.length + 1);
}

async function withAlice(settings: Record<string, unknown> = {}) {
  const t = await testApp(settings);
  await t.engine.createAccount({ username: "alice", password: ALICE });
  await t.engine.createAccount({ username: "mallory", password: "mallory's passphrase" });
  return t;
}

/** One typo of alice's, then 31 wrong passwords for other usernames, all from OFFICE. */
async function typoThenSpraying(app: FastifyInstance, attempt: Attempt) {
  expect((await signIn(app, "alice", "alice's own passphrasee", attempt)).statusCode).toBe(401);
  for (let i = 0; i < 31; i++) {
    expect((await signIn(app, `user${i}`, "Summer2026!")).statusCode).toBe(401);
  }
}

/** A copy of `token` with one character of its tag changed (`at` from the end). */
function altered(token: string, at = 5): string {
  const i = token.length - at;
  return `${token.slice(0, i)}${token[i] === "A" ? "B" : "A"}${token.slice(i + 1)}`;
}

/**
 * A copy whose tag decodes to the same bytes: the last character of 22 base64url ones
 * carries 4 unused bits, the lowest of which flips here.
 */
function respelled(token: string): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const twin = alphabet[alphabet.indexOf(token.at(-1) as string) ^ 1] as string;
  const copy = `${token.slice(0, -1)}${twin}`;
  const tag = (t: string) => Buffer.from(t.split(".")[2] as string, "base64url");
  if (!tag(copy).equals(tag(token))) throw new Error("the tag's last character has no unused bits");
  return copy;
}

describe("a browser that signed in before is not locked out by other accounts' failures on its address", () => {
  it("typo, then 31 wrong passwords for others: the correct password with the device cookie signs in", async () => {
    const { app } = await withAlice();
    const cookie = deviceCookieOf(await signIn(app, "alice", ALICE));
    await typoThenSpraying(app, { cookie });
    const retry = await signIn(app, "alice", ALICE, { cookie });
    expect(retry.statusCode).toBe(200);
    // A new token replaces the one used.
    expect(deviceCookieOf(retry)).not.toBe(cookie);
  });

  it("without a device cookie the same correct password waits for the window (429)", async () => {
    const { app, clock } = await withAlice();
    await signIn(app, "alice", ALICE);
    await typoThenSpraying(app, {});
    const refused = await signIn(app, "alice", ALICE);
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers["retry-after"])).toBeGreaterThan(0);
    clock.advance(301);
    expect((await signIn(app, "alice", ALICE)).statusCode).toBe(200);
  });

  it("an altered device cookie, or another account's, gives no exemption", async () => {
    const { app } = await withAlice();
    const aliceCookie = deviceCookieOf(await signIn(app, "alice", ALICE));
    const malloryCookie = deviceCookieOf(await signIn(app, "mallory", "mallory's passphrase"));
    await typoThenSpraying(app, {});
    const copies = [
      altered(aliceCookie),
      respelled(aliceCookie),
      malloryCookie,
      "garbage",
      `${aliceCookie}x`,
    ];
    for (const cookie of copies) {
      expect((await signIn(app, "alice", ALICE, { cookie })).statusCode).toBe(429);
    }
    // The genuine one still works.
    expect((await signIn(app, "alice", ALICE, { cookie: aliceCookie })).statusCode).toBe(200);
  });

  it("a device token issued by another server key counts for nothing", async () => {
    const first = await withAlice();
    const cookie = deviceCookieOf(await signIn(first.app, "alice", ALICE));
    const second = await withAlice();
    await typoThenSpraying(second.app, {});
    expect((await signIn(second.app, "alice", ALICE, { cookie })).statusCode).toBe(429);
  });

  it("a device token counts for a year after its sign-in, and no longer", async () => {
    const { app, clock } = await withAlice();
    const cookie = deviceCookieOf(await signIn(app, "alice", ALICE));
    clock.advance(365 * 86_400 + 1);
    await typoThenSpraying(app, {});
    expect((await signIn(app, "alice", ALICE, { cookie })).statusCode).toBe(429);
  });

  it("the device cookie's own budget locks it after loginPerDevice wrong passwords, until its window ends", async () => {
    const { app, clock } = await withAlice({
      rateLimits: { loginPerDevice: { max: 3, windowSeconds: 600 } },
    });
    const cookie = deviceCookieOf(await signIn(app, "alice", ALICE));
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) codes.push((await signIn(app, "alice", `guess ${i}`, { cookie })).statusCode);
    expect(codes).toEqual([401, 401, 401, 429, 429]);
    const locked = await signIn(app, "alice", ALICE, { cookie });
    expect(locked.statusCode).toBe(429);
    expect(Number(locked.headers["retry-after"])).toBeGreaterThan(0);
    expect(Number(locked.headers["retry-after"])).toBeLessThanOrEqual(600);
    // Another browser of alice's is not locked by this one.
    expect((await signIn(app, "alice", ALICE, { remoteAddress: HOME })).statusCode).toBe(200);
    clock.advance(601);
    expect((await signIn(app, "alice", ALICE, { cookie })).statusCode).toBe(200);
  });

  it("guesses sent all at once with one device cookie get no more checks than its budget", async () => {
    const { app } = await withAlice();
    const cookie = deviceCookieOf(await signIn(app, "alice", ALICE));
    const burst = await Promise.all(
      Array.from({ length: 20 }, (_, i) => signIn(app, "alice", `guess ${i}`, { cookie })),
    );
    const codes = burst.map((r) => r.statusCode);
    expect(codes.filter((c) => c === 401)).toHaveLength(5);
    expect(codes.filter((c) => c === 429)).toHaveLength(15);
  });

  it("the account's budget, spent by guesses from everywhere, does not refuse a known browser", async () => {
    const { app } = await withAlice();
    const cookie = deviceCookieOf(await signIn(app, "alice", ALICE));
    for (let i = 0; i < 12; i++) await signIn(app, "alice", `guess ${i}`, { remoteAddress: `127.0.3.${i}` });
    expect((await signIn(app, "alice", "typo", { cookie })).statusCode).toBe(401);
    expect((await signIn(app, "alice", ALICE, { cookie })).statusCode).toBe(200);
    // A browser without one, after its own typo, waits.
    expect((await signIn(app, "alice", "typo", { remoteAddress: HOME })).statusCode).toBe(401);
    expect((await signIn(app, "alice", ALICE, { remoteAddress: HOME })).statusCode).toBe(429);
  });

  it("one browser keeps the tokens of the accounts signed in on it", async () => {
    const { app } = await withAlice();
    const first = deviceCookieOf(await signIn(app, "alice", ALICE));
    const both = deviceCookieOf(await signIn(app, "mallory", "mallory's passphrase", { cookie: first }));
    expect(both.split("~")).toHaveLength(2);
    await typoThenSpraying(app, {});
    expect((await signIn(app, "alice", ALICE, { cookie: both })).statusCode).toBe(200);
    expect((await signIn(app, "mallory", "mallory's passphrase", { cookie: both })).statusCode).toBe(200);
  });
});

describe("device tokens of native apps travel in the body", () => {
  it("an app sends back the device_token of its last sign-in and is spared the address's refusal", async () => {
    const { app } = await withAlice();
    const first = await signIn(app, "alice", ALICE, { clientId: "native" });
    expect(deviceSetCookie(first)).toBeUndefined();
    const deviceToken = first.json().device_token as string;
    expect(deviceToken).toMatch(/^[A-Za-z0-9_-]{22}\.[0-9]+\.[A-Za-z0-9_-]{22}$/);
    await typoThenSpraying(app, { clientId: "native", deviceToken });
    const retry = await signIn(app, "alice", ALICE, { clientId: "native", deviceToken });
    expect(retry.statusCode).toBe(200);
    expect(retry.json().device_token).not.toBe(deviceToken);
    // An app without a valid token follows the address's rules: after a typo of its own, it waits.
    const forged = { clientId: "native", deviceToken: altered(deviceToken) };
    expect((await signIn(app, "alice", "another typo", forged)).statusCode).toBe(401);
    expect((await signIn(app, "alice", ALICE, forged)).statusCode).toBe(429);
  });

  it("refuses a device_token too long to be one, naming the field", async () => {
    const { app } = await withAlice();
    const response = await signIn(app, "alice", ALICE, { deviceToken: "x".repeat(101) });
    expect(response.statusCode).toBe(400);
    expect(response.json().error_description).toMatch(/device_token/);
  });
});

describe("the device cookie", () => {
  it("is httpOnly, Secure, SameSite=Strict, and a __Host- cookie when the issuer is at the root", async () => {
    const { app } = await withAlice();
    const line = deviceSetCookie(await signIn(app, "alice", ALICE)) as string;
    const attributes = line.split("; ").slice(1);
    expect(attributes).toEqual(
      expect.arrayContaining(["Path=/", "HttpOnly", "Secure", "SameSite=Strict", "Max-Age=31536000"]),
    );
    expect(line).not.toMatch(/Domain=/i);
  });

  it("under an issuer's path is a __Secure- cookie sent to the login route only", async () => {
    const { app } = await withAlice({ issuer: "https://app.example.test/auth" });
    const response = await signIn(app, "alice", ALICE);
    const line = [response.headers["set-cookie"] ?? []]
      .flat()
      .find((c) => c.startsWith("__Secure-prolong-device="));
    expect(line).toMatch(/; Path=\/auth\/login; /);
    expect(line).toMatch(/; HttpOnly; Secure; SameSite=Strict$/);
  });

  it("is neither set nor renewed by a failed sign-in", async () => {
    const { app } = await withAlice();
    expect(deviceSetCookie(await signIn(app, "alice", "wrong"))).toBeUndefined();
  });
});

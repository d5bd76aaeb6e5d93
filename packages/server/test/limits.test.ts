import { SessionEngine } from "@prolong/core";
import { buildApp, policyOf, resolveConfig } from "@prolong/server";
import type { FastifyInstance } from "fastify";
import { describe, expect, it } from "vitest";
import {
  ADMIN_TOKEN,
  bearer,
  exchangeToken,
  FakeClock,
  ISSUER,
  login,
  PASSWORD,
  RESOURCE_SECRET,
  refreshCookieOf,
  refreshNative,
  refreshWeb,
  testApp,
  testStore,
} from "./fixtures.js";

// Every address here is a loopback one (127.0.0.0/8), except the IPv6 documentation
// prefix 2001:db8::/32 (RFC 3849) handed to inject(), which sends nothing anywhere.
const OFFICE = "127.0.0.10";
const HOME = "127.0.0.20";

/** A well-formed refresh token that we never issued (its tag cannot check out). */
const GARBAGE = "A".repeat(91);

function signIn(app: FastifyInstance, username: string, password: string, remoteAddress = OFFICE) {
  return app.inject({
    method: "POST",
    url: "/login",
    remoteAddress,
    payload: { username, password, client_id: "native" },
  });
}

/** A change of password from OFFICE, proving `current`. */
function changePassword(app: FastifyInstance, accessToken: string, current: string) {
  return app.inject({
    method: "POST",
    url: "/password",
    remoteAddress: OFFICE,
    headers: bearer(accessToken),
    payload: { current_password: current, new_password: "a brand new passphrase" },
  });
}

async function withUsers(settings: Record<string, unknown> = {}) {
  const t = await testApp(settings);
  await t.engine.createAccount({ username: "alice", password: "alice's own passphrase" });
  await t.engine.createAccount({ username: "bob", password: "bob's own passphrase" });
  return t;
}

describe("sign-in limits count wrong passwords, per address and per account", () => {
  it("after many wrong passwords for alice, bob signs in from the same address", async () => {
    const { app } = await withUsers();
    const codes: number[] = [];
    for (let i = 0; i < 40; i++) codes.push((await signIn(app, "alice", `guess ${i}`)).statusCode);
    // The account's budget (10 failures) runs out; later guesses are not even checked.
    expect(codes.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(new Set(codes.slice(10))).toEqual(new Set([429]));
    expect((await signIn(app, "bob", "bob's own passphrase")).statusCode).toBe(200);
    // A mistake of bob's is an ordinary mistake, not a 429.
    expect((await signIn(app, "bob", "not bob's passphrase")).statusCode).toBe(401);
  });

  it("guesses sent all at once see each other: a burst gets no more checks than the budget", async () => {
    const { app } = await withUsers();
    const burst = await Promise.all(Array.from({ length: 50 }, (_, i) => signIn(app, "alice", `guess ${i}`)));
    const codes = burst.map((r) => r.statusCode);
    expect(codes.filter((c) => c === 401)).toHaveLength(10);
    expect(codes.filter((c) => c === 429)).toHaveLength(40);
    expect((await signIn(app, "bob", "bob's own passphrase")).statusCode).toBe(200);
  });

  it("the account's budget cannot keep its owner out: a first try from another address is checked", async () => {
    const { app } = await withUsers();
    for (let i = 0; i < 15; i++) await signIn(app, "alice", `guess ${i}`, OFFICE);
    expect((await signIn(app, "alice", "alice's own passphrase", HOME)).statusCode).toBe(200);
    // While the account is under attack, a mistake makes its owner wait for the window.
    expect((await signIn(app, "alice", "typo", HOME)).statusCode).toBe(401);
    const waiting = await signIn(app, "alice", "alice's own passphrase", HOME);
    expect(waiting.statusCode).toBe(429);
    expect(Number(waiting.headers["retry-after"])).toBeGreaterThan(0);
  });

  it("the account's budget counts failures from every address (usernames in any case)", async () => {
    const { app } = await withUsers();
    for (let i = 0; i < 10; i++) {
      const response = await signIn(app, i % 2 ? "ALICE" : "alice", `guess ${i}`, `127.0.1.${i}`);
      expect(response.statusCode).toBe(401);
    }
    // One more guess from an address that already failed: refused without a check.
    expect((await signIn(app, "alice", "alice's own passphrase", "127.0.1.3")).statusCode).toBe(429);
  });

  it("a spraying address gets one guess per account per window; a correct first try still works", async () => {
    const { app, clock } = await withUsers({ rateLimits: { login: { max: 5, windowSeconds: 60 } } });
    for (let i = 0; i < 5; i++) expect((await signIn(app, `user${i}`, "Summer2026!")).statusCode).toBe(401);
    expect((await signIn(app, "user0", "Winter2026!")).statusCode).toBe(429);
    expect((await signIn(app, "user5", "Summer2026!")).statusCode).toBe(401);
    expect((await signIn(app, "bob", "bob's own passphrase")).statusCode).toBe(200);
    // Another address is not affected, and the window ends.
    expect((await signIn(app, "user0", "Winter2026!", HOME)).statusCode).toBe(401);
    clock.advance(301);
    expect((await signIn(app, "user0", "Winter2026!")).statusCode).toBe(401);
  });

  it("answers a limited sign-in with rate_limited, a description and Retry-After", async () => {
    const { app } = await withUsers({ rateLimits: { loginPerAccount: { max: 1, windowSeconds: 60 } } });
    await signIn(app, "alice", "wrong");
    const limited = await signIn(app, "alice", "wrong again");
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toEqual({ error: "rate_limited", error_description: expect.any(String) });
    expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
    expect(Number(limited.headers["retry-after"])).toBeLessThanOrEqual(60);
  });

  it("counts IPv6 clients by their /64 and IPv4-mapped addresses as IPv4", async () => {
    const { app } = await withUsers({ rateLimits: { login: { max: 2, windowSeconds: 60 } } });
    await signIn(app, "user0", "wrong", "2001:db8:1:2::1");
    await signIn(app, "user1", "wrong", "2001:db8:1:2:ffff::2");
    expect((await signIn(app, "user0", "wrong", "2001:db8:1:2::3")).statusCode).toBe(429);
    expect((await signIn(app, "user0", "wrong", "2001:db8:1:3::1")).statusCode).toBe(401);

    await signIn(app, "user0", "wrong", "127.0.0.5");
    await signIn(app, "user1", "wrong", "::ffff:127.0.0.5");
    expect((await signIn(app, "user0", "wrong", "127.0.0.5")).statusCode).toBe(429);
  });
});

describe("token endpoint limits: failures per address, valid tokens per session", () => {
  it("a valid refresh succeeds from an address that sent hundreds of garbage tokens", async () => {
    const { app } = await testApp();
    const { body } = await login(app, { client_id: "native" });
    const codes = new Map<number, number>();
    for (let i = 0; i < 400; i++) {
      const code = (await refreshNative(app, GARBAGE, { remoteAddress: OFFICE })).statusCode;
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }
    expect(codes.get(400)).toBe(60);
    expect(codes.get(429)).toBe(340);
    const valid = await refreshNative(app, body.refresh_token as string, { remoteAddress: OFFICE });
    expect(valid.statusCode).toBe(200);
  });

  it("past the address's budget, garbage is answered rate_limited with Retry-After", async () => {
    const { app, clock } = await testApp({ rateLimits: { failedGrants: { max: 3, windowSeconds: 60 } } });
    for (let i = 0; i < 3; i++) {
      const refused = await refreshNative(app, GARBAGE, { remoteAddress: OFFICE });
      expect(refused.statusCode).toBe(400);
      expect(refused.json().error).toBe("invalid_grant");
    }
    const limited = await refreshNative(app, GARBAGE, { remoteAddress: OFFICE });
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toEqual({ error: "rate_limited", error_description: expect.any(String) });
    expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
    expect(limited.headers["cache-control"]).toBe("no-store");
    // Another address is not affected; the window ends.
    expect((await refreshNative(app, GARBAGE, { remoteAddress: HOME })).statusCode).toBe(400);
    clock.advance(61);
    expect((await refreshNative(app, GARBAGE, { remoteAddress: OFFICE })).statusCode).toBe(400);
  });

  it("web: a valid cookie refresh succeeds from a limited address", async () => {
    const { app } = await testApp({
      profiles: { web: { exchange: true } },
      rateLimits: { failedGrants: { max: 3, windowSeconds: 60 } },
    });
    const { response } = await login(app);
    for (let i = 0; i < 10; i++) await refreshNative(app, GARBAGE, { remoteAddress: OFFICE });
    const refreshed = await refreshWeb(app, refreshCookieOf(response) as string, { remoteAddress: OFFICE });
    expect(refreshed.statusCode).toBe(200);
  });

  it("a valid access token is exchanged from a limited address; failed exchanges count against it", async () => {
    const { app } = await testApp({
      profiles: { web: { exchange: true } },
      rateLimits: { failedGrants: { max: 3, windowSeconds: 60 } },
    });
    const { body } = await login(app);
    const exchange = (subject: string) => exchangeToken(app, subject, { remoteAddress: OFFICE });
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) codes.push((await exchange("not.a.token")).statusCode);
    expect(codes).toEqual([400, 400, 400, 429, 429]);
    expect((await exchange(body.access_token as string)).statusCode).toBe(200);
  });

  it("exchanges of a valid access token spend its session's budget, shared with refreshes", async () => {
    // The exchange needs an absolute lifetime, so this native profile has one.
    const { app } = await testApp({
      profiles: { native: { absoluteLifetime: 86_400, exchange: true } },
      rateLimits: { grantsPerSession: { max: 2, windowSeconds: 60 } },
    });
    const { body } = await login(app, { client_id: "native" });
    const exchange = () => exchangeToken(app, body.access_token as string);
    expect((await exchange()).statusCode).toBe(200);
    expect((await refreshNative(app, body.refresh_token as string)).statusCode).toBe(200);
    const over = await exchange();
    expect(over.statusCode).toBe(429);
    expect(over.json().error).toBe("rate_limited");
  });

  it("racing presentations of one token inside the grace window do not spend the session's budget", async () => {
    const { app } = await testApp();
    const first = (await login(app, { client_id: "native" })).body.refresh_token as string;
    // Twenty tabs wake at once and all present the same token.
    const racing = await Promise.all(Array.from({ length: 20 }, () => refreshNative(app, first)));
    expect(racing.map((r) => r.statusCode)).toEqual(Array(20).fill(200));
    let token = racing[0]?.json().refresh_token as string;
    // The session's real refreshes go on: twenty rotations fit its default budget.
    for (let i = 0; i < 19; i++) {
      const next = await refreshNative(app, token);
      expect(next.statusCode).toBe(200);
      token = next.json().refresh_token;
    }
    const over = await refreshNative(app, token);
    expect(over.statusCode).toBe(429);
    expect(over.json().error).toBe("rate_limited");
  });
});

describe("the per-session budget fits the profiles", () => {
  const fast = { profiles: { fast: { accessTokenTtl: 5 } }, clients: { fast: { profile: "fast" } } };

  it("refuses a configured budget below what the shortest access tokens need, naming both", () => {
    expect(() =>
      resolveConfig({ ...fast, rateLimits: { grantsPerSession: { max: 20, windowSeconds: 60 } } }),
    ).toThrow(/rateLimits\.grantsPerSession: .*profile "fast".*at least 24/);
    expect(() =>
      resolveConfig({ ...fast, rateLimits: { grantsPerSession: { max: 24, windowSeconds: 60 } } }),
    ).not.toThrow();
  });

  it("derives the default from the profiles, so 5 s tokens refresh all day", async () => {
    expect(resolveConfig({}).rateLimits.grantsPerSession).toEqual({ max: 20, windowSeconds: 60 });
    const config = resolveConfig({ ...fast, issuer: ISSUER, resourceSecret: RESOURCE_SECRET });
    expect(config.rateLimits.grantsPerSession.max).toBeGreaterThanOrEqual(48);

    const clock = new FakeClock();
    const store = await testStore();
    const engine = await SessionEngine.create({
      store,
      clock,
      issuer: ISSUER,
      policy: policyOf(config),
      passwordCost: { N: 1024, r: 8, p: 1 },
    });
    await engine.createAccount({ username: "maryo", password: PASSWORD });
    const app = await buildApp({
      engine,
      config: { ...config, adminToken: ADMIN_TOKEN },
      rateLimitStore: store.limits,
    });
    const signedIn = await app.inject({
      method: "POST",
      url: "/login",
      payload: { username: "maryo", password: PASSWORD, client_id: "fast" },
    });
    let token = refreshCookieOf(signedIn) as string;
    // Two minutes of a client renewing at half-life: 48 refreshes.
    for (let i = 0; i < 48; i++) {
      clock.advance(2.5);
      const refreshed = await refreshWeb(app, token, { clientId: "fast", remoteAddress: OFFICE });
      expect(refreshed.statusCode).toBe(200);
      token = refreshCookieOf(refreshed) as string;
    }
  });
});

describe("POST /password: wrong current passwords are limited and recorded", () => {
  it("limits guesses like sign-in and records each as a security event", async () => {
    const { app, store, user } = await testApp();
    const { body } = await login(app);
    const change = (current: string) => changePassword(app, body.access_token as string, current);
    const codes: number[] = [];
    for (let i = 0; i < 12; i++) codes.push((await change(`guess ${i}`)).statusCode);
    expect(codes).toEqual([...Array(10).fill(403), 429, 429]);
    const limited = await change(PASSWORD);
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toEqual({ error: "rate_limited", error_description: expect.any(String) });
    expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);

    const { events } = await store.audit.list({ subjectId: user.id, limit: 100 });
    const failed = events.filter((e) => e.type === "password_change_failed");
    expect(failed).toHaveLength(10);
    expect(failed[0]?.detail).toEqual({ ip: OFFICE });
  });

  it("shares the account's budget with sign-in", async () => {
    const { app } = await testApp({ rateLimits: { loginPerAccount: { max: 3, windowSeconds: 60 } } });
    const { body } = await login(app);
    for (let i = 0; i < 3; i++) await signIn(app, "maryo", `guess ${i}`);
    const change = await changePassword(app, body.access_token as string, "guess 4");
    // The pair (maryo, OFFICE) failed already, and the account's budget is spent.
    expect(change.statusCode).toBe(429);
  });
});

describe("trustProxy: the right-most untrusted X-Forwarded-For entry is the client", () => {
  const PROXY = "127.0.0.1";

  it("refuses true, which would believe the client-written left-most entry", () => {
    expect(() => resolveConfig({ trustProxy: true })).toThrow(/trustProxy: true would let every client/);
    expect(() => resolveConfig({ trustProxy: ["not an address"] })).toThrow(/trustProxy\.0/);
    expect(resolveConfig({ trustProxy: 1 }).trustProxy).toBe(1);
    expect(resolveConfig({ trustProxy: ["127.0.0.1", "10.0.0.0/8", "::1"] }).trustProxy).toHaveLength(3);
  });

  it("a rotating left-most X-Forwarded-For does not escape the per-address limit", async () => {
    const { app } = await testApp({
      trustProxy: 1,
      rateLimits: { failedGrants: { max: 3, windowSeconds: 60 } },
    });
    const codes: number[] = [];
    for (let i = 0; i < 6; i++) {
      const forwarded = { remoteAddress: PROXY, headers: { "x-forwarded-for": `127.0.2.${i}, ${OFFICE}` } };
      codes.push((await refreshNative(app, GARBAGE, forwarded)).statusCode);
    }
    expect(codes).toEqual([400, 400, 400, 429, 429, 429]);
  });

  it("a forged X-Forwarded-For cannot spend a victim's budget", async () => {
    const { app } = await testApp({
      trustProxy: 1,
      rateLimits: { failedGrants: { max: 3, windowSeconds: 60 } },
    });
    const forged = { remoteAddress: PROXY, headers: { "x-forwarded-for": `${HOME}, ${OFFICE}` } };
    for (let i = 0; i < 6; i++) await refreshNative(app, GARBAGE, forged);
    const direct = { remoteAddress: PROXY, headers: { "x-forwarded-for": HOME } };
    const victim = await refreshNative(app, GARBAGE, direct);
    expect(victim.statusCode).toBe(400);
  });

  it("counts hops from the right, and trusts only listed proxies", async () => {
    const sessionIp = async (settings: Record<string, unknown>, remoteAddress: string, xff: string) => {
      const { app, store } = await testApp(settings);
      const response = await app.inject({
        method: "POST",
        url: "/login",
        remoteAddress,
        headers: { "x-forwarded-for": xff },
        payload: { username: "maryo", password: PASSWORD },
      });
      return (await store.sessions.readSession(response.json().session_id))?.session.ip;
    };
    const chain = "127.0.3.1, 127.0.3.2, 127.0.3.3";
    expect(await sessionIp({}, PROXY, chain)).toBe(PROXY);
    expect(await sessionIp({ trustProxy: 1 }, PROXY, chain)).toBe("127.0.3.3");
    expect(await sessionIp({ trustProxy: 2 }, PROXY, chain)).toBe("127.0.3.2");
    expect(await sessionIp({ trustProxy: [PROXY] }, PROXY, chain)).toBe("127.0.3.3");
    expect(await sessionIp({ trustProxy: [PROXY, "127.0.3.0/24"] }, PROXY, chain)).toBe("127.0.3.1");
    // A client that reaches the server directly is not a listed proxy: its header is ignored.
    expect(await sessionIp({ trustProxy: [PROXY] }, "127.0.0.99", chain)).toBe("127.0.0.99");
  });
});

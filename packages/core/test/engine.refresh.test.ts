import {
  type IssuedTokens,
  isProlongError,
  ProlongError,
  type RefreshedTokens,
  type SessionRecord,
} from "@prolong/core";
import { GRANT_FAILURES } from "@prolong/protocol";
import { describe, expect, it } from "vitest";
import { decodeJwt, setup, testStore } from "./fixtures.js";

const login = { username: "maryo", password: "correct horse battery" };

/** A refresh's answer that carries a refresh token: every answer but a straggler's. */
function issued(tokens: RefreshedTokens): IssuedTokens {
  if (tokens.refreshToken === null) throw new Error("expected a refresh token, got a straggler's answer");
  return tokens;
}

async function expectCode(promise: Promise<unknown>, code: string) {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProlongError);
  expect((error as ProlongError).code).toBe(code);
}

describe("sign-in", () => {
  it("creates a session with device name, user agent, ip and client profile", async () => {
    const { engine } = await setup();
    const tokens = await engine.signIn({
      ...login,
      clientId: "native",
      deviceName: "Maryo's iPad",
      userAgent: "Safari",
      ip: "192.0.2.1",
    });
    expect(tokens.session).toMatchObject({
      deviceName: "Maryo's iPad",
      userAgent: "Safari",
      ip: "192.0.2.1",
      clientId: "native",
      absoluteExpiresAt: null,
    });
    expect(tokens.profile.refreshTransport).toBe("body");
  });

  it("accepts the username in any case and defaults to the web client", async () => {
    const { engine } = await setup();
    const tokens = await engine.signIn({ username: "  MARYO ", password: login.password });
    expect(tokens.session.clientId).toBe("web");
    expect(tokens.profile.refreshTransport).toBe("cookie");
  });

  it("refuses a wrong password and an unknown user with the same code", async () => {
    const { engine } = await setup();
    await expectCode(engine.signIn({ ...login, password: "wrong password" }), "invalid_credentials");
    await expectCode(engine.signIn({ username: "nobody", password: login.password }), "invalid_credentials");
    await expectCode(
      engine.signIn({ username: "<not a name>", password: login.password }),
      "invalid_credentials",
    );
  });

  it("refuses an unknown client", async () => {
    const { engine } = await setup();
    await expectCode(engine.signIn({ ...login, clientId: "nope" }), "invalid_client");
    await expectCode(engine.signIn({ ...login, clientId: "__proto__" }), "invalid_client");
  });

  it("refuses a disabled user", async () => {
    const { engine, user } = await setup();
    await engine.disableSubject(user.id);
    await expectCode(engine.signIn(login), "user_disabled");
  });
});

describe("refresh rotation (P4, P5)", () => {
  it("rotates on every use: a new refresh token each time, the old one no longer current", async () => {
    const { engine, clock } = await setup();
    const first = await engine.signIn(login);
    clock.advance(60);
    const second = issued(await engine.refresh({ refreshToken: first.refreshToken, clientId: "web" }));
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect(second.accessToken).not.toBe(first.accessToken);
    expect(second.session.generation).toBe(1);
    const third = await engine.refresh({ refreshToken: second.refreshToken, clientId: "web" });
    expect(third.session.generation).toBe(2);
  });

  it("returns the same successor when the rotated token comes back inside the grace window", async () => {
    const { engine, clock } = await setup();
    const first = await engine.signIn(login);
    const a = issued(await engine.refresh({ refreshToken: first.refreshToken, clientId: "web" }));
    clock.advance(29);
    const b = await engine.refresh({ refreshToken: first.refreshToken, clientId: "web" });
    expect(b.refreshToken).toBe(a.refreshToken);
    // The host can tell a replay from a rotation (rate limits count rotations only).
    expect([a.replayed, b.replayed]).toEqual([false, true]);
    // A fresh access token each time, so the lost response costs nothing.
    expect(decodeJwt(b.accessToken).payload.jti).not.toBe(decodeJwt(a.accessToken).payload.jti);
    expect(b.session.revokedAt).toBeNull();
  });

  it("treats a replay after the grace window as reuse: the whole session is revoked and recorded", async () => {
    const { engine, clock, store, events } = await setup();
    const first = await engine.signIn(login);
    const a = issued(await engine.refresh({ refreshToken: first.refreshToken, clientId: "web" }));
    clock.advance(31);
    await expectCode(engine.refresh({ refreshToken: first.refreshToken, clientId: "web" }), "reuse_detected");
    // The family is gone: even the legitimate successor no longer works.
    await expectCode(engine.refresh({ refreshToken: a.refreshToken, clientId: "web" }), "session_revoked");
    const session = (await store.sessions.readSession(first.sessionId))?.session;
    expect(session?.revokedReason).toBe("reuse");
    const { events: recorded } = await store.audit.list({ sessionId: first.sessionId, limit: 10 });
    expect(recorded.map((e) => e.type)).toContain("reuse_detected");
    expect(events.some((e) => e.type === "session_revoked" && e.sessionId === first.sessionId)).toBe(true);
  });

  it("answers a straggler inside the grace window with an access token and no refresh token, changing nothing", async () => {
    const { engine, clock, store, events } = await setup();
    const first = await engine.signIn(login);
    const a = issued(await engine.refresh({ refreshToken: first.refreshToken, clientId: "web" }));
    clock.advance(20);
    const b = issued(await engine.refresh({ refreshToken: a.refreshToken, clientId: "web" }));
    // 49 s after the first rotation, 29 s after the latest: the window runs from the latest.
    clock.advance(29);
    const before = await store.sessions.readSession(first.sessionId);
    const late = await engine.refresh({ refreshToken: first.refreshToken, clientId: "web" });
    expect(late.refreshToken).toBeNull();
    expect(late.replayed).toBe(false);
    // A fresh access token of this session, for the profile's lifetime.
    const claims = decodeJwt(late.accessToken).payload;
    expect(claims).toMatchObject({ sid: first.sessionId, sub: first.claims.sub, ver: 0 });
    expect(claims.jti).not.toBe(decodeJwt(b.accessToken).payload.jti);
    expect(late.expiresIn).toBe(300);
    expect(await store.sessions.readSession(first.sessionId)).toEqual(before);
    expect(events.filter((e) => e.type === "refreshed").at(-1)).toMatchObject({
      straggler: true,
      replayed: false,
    });
    expect(events.some((e) => e.type === "reuse_detected" || e.type === "session_revoked")).toBe(false);
    // The session goes on with its current token.
    const c = issued(await engine.refresh({ refreshToken: b.refreshToken, clientId: "web" }));
    expect(c.session).toMatchObject({ generation: 3, revokedAt: null });
  });

  it("treats a straggler after the grace window as reuse and revokes the session", async () => {
    const { engine, clock } = await setup();
    const first = await engine.signIn(login);
    const a = issued(await engine.refresh({ refreshToken: first.refreshToken, clientId: "web" }));
    const b = issued(await engine.refresh({ refreshToken: a.refreshToken, clientId: "web" }));
    clock.advance(31);
    await expectCode(engine.refresh({ refreshToken: first.refreshToken, clientId: "web" }), "reuse_detected");
    await expectCode(engine.refresh({ refreshToken: b.refreshToken, clientId: "web" }), "session_revoked");
  });

  it("treats a token three generations behind as reuse even inside the grace window", async () => {
    const { engine } = await setup();
    const first = await engine.signIn(login);
    let tokens = issued(await engine.refresh({ refreshToken: first.refreshToken, clientId: "web" }));
    for (let i = 0; i < 2; i++) {
      tokens = issued(await engine.refresh({ refreshToken: tokens.refreshToken, clientId: "web" }));
    }
    await expectCode(engine.refresh({ refreshToken: first.refreshToken, clientId: "web" }), "reuse_detected");
    await expectCode(
      engine.refresh({ refreshToken: tokens.refreshToken, clientId: "web" }),
      "session_revoked",
    );
  });

  it("checks a straggler's standing as for any refresh", async () => {
    const { engine, user, clock } = await setup();
    const first = await engine.signIn(login);
    const a = issued(await engine.refresh({ refreshToken: first.refreshToken, clientId: "web" }));
    await engine.refresh({ refreshToken: a.refreshToken, clientId: "web" });
    clock.advance(1);
    await engine.requireReauth(user.id);
    await expectCode(
      engine.refresh({ refreshToken: first.refreshToken, clientId: "web" }),
      "reauth_required",
    );
  });

  it("ends a theft race the user loses with the session revoked, the thief holding nothing", async () => {
    const { engine, clock, store } = await setup();
    const stolen = await engine.signIn(login);
    // The thief refreshes first, twice; the user's token is then a straggler.
    const t1 = issued(await engine.refresh({ refreshToken: stolen.refreshToken, clientId: "web" }));
    const t2 = issued(await engine.refresh({ refreshToken: t1.refreshToken, clientId: "web" }));
    clock.advance(10);
    const user = await engine.refresh({ refreshToken: stolen.refreshToken, clientId: "web" });
    expect(user.refreshToken).toBeNull();
    // The user's client keeps the token it holds; its next refresh, past the window, ends it.
    clock.advance(240);
    await expectCode(
      engine.refresh({ refreshToken: stolen.refreshToken, clientId: "web" }),
      "reuse_detected",
    );
    await expectCode(engine.refresh({ refreshToken: t2.refreshToken, clientId: "web" }), "session_revoked");
    expect((await store.sessions.readSession(stolen.sessionId))?.session.revokedReason).toBe("reuse");
  });

  it("settles many concurrent refreshes of one token on one successor without revoking", async () => {
    const { engine, store } = await setup();
    const first = await engine.signIn(login);
    const results = await Promise.all(
      Array.from({ length: 25 }, () => engine.refresh({ refreshToken: first.refreshToken, clientId: "web" })),
    );
    expect(new Set(results.map((r) => r.refreshToken)).size).toBe(1);
    const session = (await store.sessions.readSession(first.sessionId))?.session;
    expect(session?.generation).toBe(1);
    expect(session?.revokedAt).toBeNull();
  });

  it("refuses forged and tampered tokens without revoking the session they name", async () => {
    const { engine, store } = await setup();
    const first = await engine.signIn(login);
    const token = first.refreshToken;
    const bytes = Buffer.from(token, "base64url");
    // Same session id, older generation, random secret and tag: what someone who
    // only read `sid` from an access token could build.
    const forged = Buffer.concat([bytes.subarray(0, 16), Buffer.alloc(4), Buffer.alloc(48, 7)]).toString(
      "base64url",
    );
    const flipped = Buffer.from(bytes);
    flipped[30] = (flipped[30] as number) ^ 1;
    for (const bad of [
      forged,
      flipped.toString("base64url"),
      `${token}A`,
      token.slice(1),
      "",
      "a.b.c",
      `${token}=`,
    ]) {
      await expectCode(engine.refresh({ refreshToken: bad, clientId: "web" }), "invalid_grant");
    }
    expect((await store.sessions.readSession(first.sessionId))?.session?.revokedAt).toBeNull();
    await expect(engine.refresh({ refreshToken: token, clientId: "web" })).resolves.toBeTruthy();
  });

  it("binds a refresh token to the client it was issued to (RFC 6749 §6)", async () => {
    const { engine } = await setup();
    const first = await engine.signIn({ ...login, clientId: "native" });
    await expectCode(engine.refresh({ refreshToken: first.refreshToken, clientId: "web" }), "invalid_grant");
    await expect(
      engine.refresh({ refreshToken: first.refreshToken, clientId: "native" }),
    ).resolves.toBeTruthy();
  });

  it("stores only hashes: no refresh token appears anywhere in the store", async () => {
    const { engine, store } = await setup();
    const first = await engine.signIn(login);
    const second = issued(await engine.refresh({ refreshToken: first.refreshToken, clientId: "web" }));
    const dump = JSON.stringify([
      (await store.sessions.readSession(first.sessionId))?.session,
      await store.audit.list({ limit: 100 }),
    ]);
    expect(dump).not.toContain(first.refreshToken);
    expect(dump).not.toContain(second.refreshToken);
  });

  it("issues refresh tokens of 256 random bits in base64url, never JWTs", async () => {
    const { engine } = await setup();
    const a = await engine.signIn(login);
    const b = await engine.signIn(login);
    for (const t of [a.refreshToken, b.refreshToken]) {
      expect(t).toMatch(/^[A-Za-z0-9_-]{91}$/);
      expect(t.split(".")).toHaveLength(1);
    }
    // The secret part (bytes 20..52) differs between sessions.
    const secret = (t: string) => Buffer.from(t, "base64url").subarray(20, 52).toString("hex");
    expect(secret(a.refreshToken)).not.toBe(secret(b.refreshToken));
  });
});

describe("a refresh in one pass", () => {
  it("costs one store call: rotate settles it and returns the session with its subject", async () => {
    const { engine, store } = await setup();
    const first = await engine.signIn(login);
    const calls: string[] = [];
    for (const concern of ["sessions", "accounts", "keys", "audit"] as const) {
      const target = store[concern] as unknown as Record<string, unknown>;
      const proto = Object.getPrototypeOf(target) as object;
      for (const name of Object.getOwnPropertyNames(proto)) {
        const method = target[name];
        if (name === "constructor" || typeof method !== "function") continue;
        target[name] = (...args: unknown[]) => {
          calls.push(`${concern}.${name}`);
          return (method as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
    }
    await engine.refresh({ refreshToken: first.refreshToken, clientId: "web" });
    expect(calls).toEqual(["sessions.rotate"]);
  });

  it("spends a budget in that same call: over it, rate_limited with when it refills, and nothing rotated", async () => {
    const { engine, store, clock } = await setup();
    const first = await engine.signIn(login);
    const budget = { max: 2, windowMs: 60_000 };
    const start = clock.now();
    const second = issued(
      await engine.refresh({ refreshToken: first.refreshToken, clientId: "web", budget }),
    );
    // A replay inside the grace window is free.
    await engine.refresh({ refreshToken: first.refreshToken, clientId: "web", budget });
    const third = issued(
      await engine.refresh({ refreshToken: second.refreshToken, clientId: "web", budget }),
    );
    const refused = await engine.refresh({ refreshToken: third.refreshToken, clientId: "web", budget }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isProlongError(refused, "rate_limited")).toBe(true);
    expect((refused as ProlongError).retryAt).toBe(start + 60_000);
    expect((await store.sessions.readSession(first.sessionId))?.session.generation).toBe(2);
    clock.advance(60);
    const fourth = issued(
      await engine.refresh({ refreshToken: third.refreshToken, clientId: "web", budget }),
    );
    expect(fourth.session.generation).toBe(3);
  });

  it("takes a token the host opened, and refuses a look-alike it did not open without touching the session", async () => {
    const { engine, store } = await setup();
    const first = await engine.signIn(login);
    const opened = engine.openRefreshToken(first.refreshToken);
    if (!opened) throw new Error("a token just issued must open");
    const second = issued(await engine.refresh({ refreshToken: opened, clientId: "web" }));
    expect(second.session.generation).toBe(1);
    // An older generation would be reuse and end the session (P4): only a token the
    // engine authenticated may get that far.
    await expectCode(engine.refresh({ refreshToken: { ...opened }, clientId: "web" }), "invalid_grant");
    expect((await store.sessions.readSession(first.sessionId))?.session.revokedAt).toBeNull();
    await expect(
      engine.refresh({ refreshToken: second.refreshToken, clientId: "web" }),
    ).resolves.toBeTruthy();
  });

  it("hands a straggler's answer only for a token two derivations from the current one", async () => {
    const { engine, store } = await setup();
    const first = await engine.signIn(login);
    issued(await engine.refresh({ refreshToken: first.refreshToken, clientId: "web" }));
    // A store that took the previous token for a straggler: the engine does not follow it.
    const rotate = store.sessions.rotate.bind(store.sessions);
    store.sessions.rotate = async (request) => {
      const outcome = await rotate(request);
      return outcome.status === "replayed" ? { ...outcome, status: "overtaken" } : outcome;
    };
    await expectCode(engine.refresh({ refreshToken: first.refreshToken, clientId: "web" }), "invalid_grant");
  });

  it("leaves a session untouched when another client presents its token", async () => {
    const { engine, store, clock } = await setup();
    const first = await engine.signIn({ ...login, clientId: "native" });
    const second = issued(await engine.refresh({ refreshToken: first.refreshToken, clientId: "native" }));
    clock.advance(31);
    // Even the rotated token, which from its own client would now be reuse, changes nothing.
    await expectCode(engine.refresh({ refreshToken: first.refreshToken, clientId: "web" }), "invalid_grant");
    await expectCode(engine.refresh({ refreshToken: second.refreshToken, clientId: "web" }), "invalid_grant");
    const { session } = (await store.sessions.readSession(first.sessionId)) ?? {};
    expect(session).toMatchObject({ generation: 1, revokedAt: null });
  });
});

describe("session limits (P2, P3)", () => {
  it("ends a session after the idle timeout, and each refresh slides it", async () => {
    const { engine, clock } = await setup();
    // Native: no absolute limit, so only the idle rule can end it.
    let tokens = await engine.signIn({ ...login, clientId: "native" });
    for (let i = 0; i < 3; i++) {
      clock.advance(89 * 86_400);
      tokens = issued(await engine.refresh({ refreshToken: tokens.refreshToken, clientId: "native" }));
    }
    clock.advance(90 * 86_400);
    await expectCode(
      engine.refresh({ refreshToken: tokens.refreshToken, clientId: "native" }),
      "session_expired",
    );
  });

  it("ends a web session 30 days after sign-in however active it is", async () => {
    const { engine, clock } = await setup();
    let tokens = await engine.signIn(login);
    const signedInAt = clock.now();
    while (clock.now() + 86_400_000 < signedInAt + 30 * 86_400_000) {
      clock.advance(86_400);
      tokens = issued(await engine.refresh({ refreshToken: tokens.refreshToken, clientId: "web" }));
    }
    // The access token never outlives the absolute limit.
    expect(tokens.claims.exp).toBeLessThanOrEqual(Math.floor((signedInAt + 30 * 86_400_000) / 1000));
    clock.advance(86_400);
    await expectCode(
      engine.refresh({ refreshToken: tokens.refreshToken, clientId: "web" }),
      "session_expired",
    );
  });

  it("lets a native session live beyond 30 days while it stays active", async () => {
    const { engine, clock } = await setup();
    let tokens = await engine.signIn({ ...login, clientId: "native" });
    for (let i = 0; i < 6; i++) {
      clock.advance(30 * 86_400);
      tokens = issued(await engine.refresh({ refreshToken: tokens.refreshToken, clientId: "native" }));
    }
    expect(tokens.session.revokedAt).toBeNull();
    clock.advance(91 * 86_400);
    await expectCode(
      engine.refresh({ refreshToken: tokens.refreshToken, clientId: "native" }),
      "session_expired",
    );
  });

  it("uses the configured numbers of a profile", async () => {
    const { defaultPolicy } = await import("@prolong/core");
    const policy = defaultPolicy();
    Object.assign(policy.profiles.web as object, { idleTimeout: 60, graceWindow: 2, accessTokenTtl: 100 });
    const { engine, clock } = await setup({ policy });
    const first = await engine.signIn(login);
    expect(first.expiresIn).toBe(100);
    expect(first.claims.rfa - first.claims.iat).toBe(80);
    await engine.refresh({ refreshToken: first.refreshToken, clientId: "web" });
    clock.advance(3);
    await expectCode(engine.refresh({ refreshToken: first.refreshToken, clientId: "web" }), "reuse_detected");
    const other = await engine.signIn(login);
    clock.advance(61);
    await expectCode(
      engine.refresh({ refreshToken: other.refreshToken, clientId: "web" }),
      "session_expired",
    );
  });
});

describe("security events end sessions (P8, P9)", () => {
  it("log out everywhere bumps the token version and ends every session", async () => {
    const { engine, user, events } = await setup();
    const a = await engine.signIn(login);
    const b = await engine.signIn(login);
    expect(await engine.logoutEverywhere(user.id)).toBe(2);
    await expectCode(engine.refresh({ refreshToken: a.refreshToken, clientId: "web" }), "session_revoked");
    await expectCode(engine.refresh({ refreshToken: b.refreshToken, clientId: "web" }), "session_revoked");
    expect(events).toContainEqual(
      expect.objectContaining({ type: "logout_everywhere", subjectId: user.id, version: 1 }),
    );
    const fresh = await engine.signIn(login);
    expect(fresh.claims.ver).toBe(1);
  });

  it("the re-auth flag denies refresh until the next sign-in", async () => {
    const { engine, user, clock } = await setup();
    const old = await engine.signIn(login);
    clock.advance(1);
    await engine.requireReauth(user.id);
    await expectCode(engine.refresh({ refreshToken: old.refreshToken, clientId: "web" }), "reauth_required");
    clock.advance(1);
    const fresh = await engine.signIn(login);
    await expect(engine.refresh({ refreshToken: fresh.refreshToken, clientId: "web" })).resolves.toBeTruthy();
    await expectCode(engine.refresh({ refreshToken: old.refreshToken, clientId: "web" }), "reauth_required");
  });

  it("a disabled user cannot refresh, and enabling does not revive ended sessions", async () => {
    const { engine, user } = await setup();
    const a = await engine.signIn(login);
    await engine.disableSubject(user.id);
    await expectCode(engine.refresh({ refreshToken: a.refreshToken, clientId: "web" }), "user_disabled");
    await engine.enableSubject(user.id);
    await expectCode(engine.refresh({ refreshToken: a.refreshToken, clientId: "web" }), "session_revoked");
  });

  it("a password change ends the user's other sessions but keeps the current one", async () => {
    const { engine, user } = await setup();
    const current = await engine.signIn(login);
    const other = await engine.signIn(login);
    const ended = await engine.changePassword({
      subjectId: user.id,
      sessionId: current.sessionId,
      currentPassword: login.password,
      newPassword: "a brand new passphrase",
    });
    expect(ended).toBe(1);
    await expectCode(
      engine.refresh({ refreshToken: other.refreshToken, clientId: "web" }),
      "session_revoked",
    );
    await expect(
      engine.refresh({ refreshToken: current.refreshToken, clientId: "web" }),
    ).resolves.toBeTruthy();
    await expectCode(engine.signIn(login), "invalid_credentials");
    await expect(engine.signIn({ ...login, password: "a brand new passphrase" })).resolves.toBeTruthy();
  });

  it("a password change needs the current password and an acceptable new one", async () => {
    const { engine, user } = await setup();
    const current = await engine.signIn(login);
    const change = (currentPassword: string, newPassword: string) =>
      engine.changePassword({
        subjectId: user.id,
        sessionId: current.sessionId,
        currentPassword,
        newPassword,
      });
    await expectCode(change("wrong one!", "a brand new passphrase"), "invalid_credentials");
    await expectCode(change(login.password, "short"), "invalid_request");
  });

  it("records a wrong current password like a failed sign-in, with the address", async () => {
    const { engine, store, user } = await setup();
    const current = await engine.signIn(login);
    await expectCode(
      engine.changePassword({
        subjectId: user.id,
        sessionId: current.sessionId,
        currentPassword: "wrong one!",
        newPassword: "a brand new passphrase",
        ip: "127.0.0.3",
      }),
      "invalid_credentials",
    );
    const { events: recorded } = await store.audit.list({ subjectId: user.id, limit: 10 });
    expect(recorded.find((e) => e.type === "password_change_failed")).toMatchObject({
      sessionId: current.sessionId,
      detail: { ip: "127.0.0.3" },
    });
  });

  it("re-reads claims on every refresh", async () => {
    const { engine, user } = await setup();
    const first = await engine.signIn(login);
    expect(first.claims.roles).toEqual(["reader"]);
    await engine.setClaims(user.id, { roles: ["admin"] });
    const next = await engine.refresh({ refreshToken: first.refreshToken, clientId: "web" });
    expect(next.claims.roles).toEqual(["admin"]);
  });
});

describe("sessions bound to a key", () => {
  it("ends a DPoP-bound session refreshed without a proof of its key (RFC 9449 §5), reporting key_mismatch", async () => {
    const base = await testStore();
    // Sessions created bound to a key, as a sign-in that came with a DPoP proof creates them.
    const sessions = new Proxy(base.sessions, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (property === "createSession") {
          return (session: SessionRecord) => target.createSession({ ...session, dpopJkt: "jkt-of-the-key" });
        }
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    // setup's own store goes unused: the engine runs on this one.
    const { engine, events } = await setup({ store: { ...base, sessions } });
    const first = await engine.signIn(login);
    await expectCode(engine.refresh({ refreshToken: first.refreshToken, clientId: "web" }), "invalid_grant");
    expect((await base.sessions.readSession(first.sessionId))?.session).toMatchObject({
      revokedReason: "key_mismatch",
      generation: 0,
    });
    expect(events).toContainEqual(
      expect.objectContaining({
        type: "session_revoked",
        sessionId: first.sessionId,
        reason: "key_mismatch",
      }),
    );
  });

  it("refuses a device-bound session refreshed without its bound cookie with a code that is no grant failure, ending nothing", async () => {
    const { engine, store, clock, events } = await setup();
    const first = await engine.signIn(login);
    const registered = await store.sessions.registerDeviceKey(first.sessionId, '{"kty":"EC"}', clock.now());
    expect(registered).toBe("registered");
    const error = await engine.refresh({ refreshToken: first.refreshToken, clientId: "web" }).catch((e) => e);
    expect(isProlongError(error, "unauthorized")).toBe(true);
    expect(GRANT_FAILURES.has((error as ProlongError).code)).toBe(false);
    expect((await store.sessions.readSession(first.sessionId))?.session).toMatchObject({
      revokedAt: null,
      generation: 0,
    });
    expect(events.some((e) => e.type === "session_revoked")).toBe(false);
  });
});

describe("errors", () => {
  it("are ProlongErrors with stable codes and no token in the message", async () => {
    const { engine } = await setup();
    const first = await engine.signIn(login);
    await engine.logout(first.sessionId);
    const error = await engine
      .refresh({ refreshToken: first.refreshToken, clientId: "web" })
      .catch((e: unknown) => e);
    expect(isProlongError(error, "session_revoked")).toBe(true);
    expect(String((error as Error).message)).not.toContain(first.refreshToken);
  });
});

describe("session of a refresh token", () => {
  it("is named only for a genuine token", async () => {
    const { engine } = await setup();
    const a = await engine.signIn(login);
    expect(engine.openRefreshToken(a.refreshToken)?.sessionId).toBe(a.sessionId);
    const tampered = `${(a.refreshToken).slice(0, -2)}AA`;
    expect(engine.openRefreshToken(tampered)).toBeNull();
  });
});

import { defaultPolicy, ProlongError, SessionEngine } from "@prolong/core";
import { describe, expect, it, vi } from "vitest";
import { decodeJwt, setup, testPasswordCost } from "./fixtures.js";

const login = { username: "maryo", password: "correct horse battery" };

async function codeOf(promise: Promise<unknown>): Promise<string | null> {
  return promise.then(
    () => null,
    (e: unknown) => (e instanceof ProlongError ? e.code : `not a ProlongError: ${String(e)}`),
  );
}

describe("devices (P7)", () => {
  it("lists live sessions newest first, renames, revokes one and all others", async () => {
    const { engine, user, clock } = await setup();
    const a = await engine.signIn({ ...login, deviceName: "laptop" });
    clock.advance(1);
    const b = await engine.signIn({ ...login, deviceName: "phone" });
    clock.advance(1);
    const c = await engine.signIn({ ...login, deviceName: "tablet" });
    expect((await engine.listSessions(user.id)).map((s) => s.deviceName)).toEqual([
      "tablet",
      "phone",
      "laptop",
    ]);

    const renamed = await engine.renameSession(user.id, b.sessionId, "  Maryo's\u0000 phone ");
    expect(renamed.deviceName).toBe("Maryo's phone");

    await engine.revokeSession(user.id, a.sessionId);
    expect((await engine.listSessions(user.id)).map((s) => s.id)).toEqual([c.sessionId, b.sessionId]);

    expect(await engine.revokeOtherSessions(user.id, c.sessionId)).toBe(1);
    expect((await engine.listSessions(user.id)).map((s) => s.id)).toEqual([c.sessionId]);
    expect(await codeOf(engine.refresh({ refreshToken: b.refreshToken, clientId: "web" }))).toBe(
      "session_revoked",
    );
  });

  it("never lets a user touch another user's session", async () => {
    const { engine } = await setup();
    const mine = await engine.signIn(login);
    const { subject: eve } = await engine.createAccount({ username: "eve", password: "eve's password" });
    expect(await codeOf(engine.renameSession(eve.id, mine.sessionId, "pwned"))).toBe("not_found");
    expect(await codeOf(engine.revokeSession(eve.id, mine.sessionId))).toBe("not_found");
    expect(await engine.revokeOtherSessions(eve.id, "x")).toBe(0);
    await expect(engine.refresh({ refreshToken: mine.refreshToken, clientId: "web" })).resolves.toBeTruthy();
  });

  it("refuses an empty device name", async () => {
    const { engine, user } = await setup();
    const a = await engine.signIn(login);
    expect(await codeOf(engine.renameSession(user.id, a.sessionId, " \n "))).toBe("invalid_request");
  });

  it("an administrator revokes any session, and hears about unknown ones", async () => {
    const { engine } = await setup();
    const a = await engine.signIn(login);
    await engine.revokeSession(null, a.sessionId, "admin");
    expect(await codeOf(engine.refresh({ refreshToken: a.refreshToken, clientId: "web" }))).toBe(
      "session_revoked",
    );
    expect(await codeOf(engine.revokeSession(null, "no-such-session"))).toBe("not_found");
  });
});

describe("sessions as administrators see them", () => {
  it("pages through a subject's sessions, live or all, of one client or any", async () => {
    const { engine, user, clock } = await setup();
    const started = [];
    for (const clientId of ["web", "native", "web", "native", "web"]) {
      started.push(await engine.signIn({ ...login, clientId }));
      clock.advance(1);
    }
    await engine.logout((started[4] as { sessionId: string }).sessionId);
    const ids = (page: { sessions: { id: string }[] }) => page.sessions.map((s) => s.id);
    const newestFirst = started.map((t) => t.sessionId).reverse();

    const first = await engine.findSessions({ subjectId: user.id, limit: 2 });
    expect(ids(first)).toEqual(newestFirst.slice(1, 3));
    const second = await engine.findSessions({ subjectId: user.id, limit: 2, after: first.next as string });
    expect(ids(second)).toEqual(newestFirst.slice(3, 5));
    expect(second.next).toBeNull();

    expect(ids(await engine.findSessions({ subjectId: user.id, state: "all", limit: 10 }))).toEqual(
      newestFirst,
    );
    expect(ids(await engine.findSessions({ subjectId: user.id, clientId: "native", limit: 10 }))).toEqual([
      newestFirst[1],
      newestFirst[3],
    ]);
    expect(await engine.findSessions({ subjectId: "nobody", limit: 10 })).toEqual({
      sessions: [],
      next: null,
    });
  });

  it("refuses a page cursor it did not issue and a limit below one", async () => {
    const { engine, user } = await setup();
    for (const after of ["", "x", "12", "-1.abc", "1e3.abc"]) {
      expect(await codeOf(engine.findSessions({ subjectId: user.id, limit: 1, after })), after).toBe(
        "invalid_request",
      );
    }
    expect(await codeOf(engine.findSessions({ subjectId: user.id, limit: 0 }))).toBe("invalid_request");
  });

  it("finds any session by id, ended or not", async () => {
    const { engine, user } = await setup();
    const a = await engine.signIn(login);
    await engine.logout(a.sessionId);
    expect(await engine.findSession(a.sessionId)).toMatchObject({
      id: a.sessionId,
      subjectId: user.id,
      revokedReason: "logout",
    });
    expect(await engine.findSession("no-such-session")).toBeNull();
  });
});

describe("subjects as administrators see them", () => {
  it("pages through the subjects with an account, by username, and finds one by username", async () => {
    const { engine, user } = await setup();
    for (const username of ["zoe", "anna", "bob"]) await engine.createAccount({ username });
    const first = await engine.listSubjects({ limit: 2 });
    expect(first.subjects.map((s) => s.account.username)).toEqual(["anna", "bob"]);
    expect(first.next).toBe("bob");
    const second = await engine.listSubjects({ limit: 2, after: first.next as string });
    expect(second.subjects.map((s) => s.account.username)).toEqual(["maryo", "zoe"]);
    expect(second.next).toBeNull();

    const found = await engine.findSubjectByUsername("  MARYO ");
    expect(found?.subject).toMatchObject({ id: user.id, claims: { roles: ["reader"] } });
    expect(found?.account.username).toBe("maryo");
    expect(await engine.findSubjectByUsername("nobody")).toBeNull();
    expect(await codeOf(engine.listSubjects({ limit: 0 }))).toBe("invalid_request");
  });
});

describe("sessions created by an embedding backend", () => {
  it("hands out tokens for a user it authenticated itself", async () => {
    const { engine, user } = await setup();
    const tokens = await engine.startSessionForSubject({
      subjectId: user.id,
      clientId: "native",
      deviceName: "CLI",
    });
    expect(tokens.claims.sub).toBe(user.id);
    await expect(
      engine.refresh({ refreshToken: tokens.refreshToken, clientId: "native" }),
    ).resolves.toBeTruthy();
    // A subject prolong never met is the application's user all the same: it used to be
    // refused with not_found, which made an application's own user ids unusable as `sub`
    // (engine.subjects.test.ts holds the rules of subjects created on first use).
    const stranger = await engine.startSessionForSubject({ subjectId: "nobody" });
    expect(stranger.claims.sub).toBe("nobody");
  });
});

/** A policy whose web profile opts in to the stateless exchange (off by default). */
function exchangePolicy(absoluteLifetime?: number) {
  const policy = defaultPolicy();
  Object.assign(policy.profiles.web as object, {
    exchange: true,
    ...(absoluteLifetime === undefined ? {} : { absoluteLifetime }),
  });
  return policy;
}

describe("stateless exchange (P10)", () => {
  it("swaps a valid access token for a new one of the same session and slides the idle timeout", async () => {
    const { engine, clock, store } = await setup({ policy: exchangePolicy() });
    const first = await engine.signIn(login);
    clock.advance(200);
    const next = await engine.exchange({ accessToken: first.accessToken });
    // The exchange never hands out a refresh token: its grant type has no such member.
    expect(next).not.toHaveProperty("refreshToken");
    expect(next.claims.sid).toBe(first.sessionId);
    expect(next.claims.exp).toBeGreaterThan(first.claims.exp);
    expect((await store.sessions.readSession(first.sessionId))?.session?.lastActiveAt).toBe(clock.now());
  });

  it("refuses an expired token, a revoked session, and a token of an old version", async () => {
    const { engine, clock, user } = await setup({ policy: exchangePolicy() });
    const a = await engine.signIn(login);
    // 300 s lifetime plus the 5 s clock tolerance.
    clock.advance(306);
    expect(await codeOf(engine.exchange({ accessToken: a.accessToken }))).toBe("token_expired");

    const b = await engine.signIn(login);
    await engine.logout(b.sessionId);
    expect(await codeOf(engine.exchange({ accessToken: b.accessToken }))).toBe("session_revoked");

    const c = await engine.signIn(login);
    await engine.logoutEverywhere(user.id);
    expect(await codeOf(engine.exchange({ accessToken: c.accessToken }))).toBe("session_revoked");
  });

  it("is bounded by the absolute lifetime", async () => {
    const { engine, clock } = await setup({ policy: exchangePolicy(3600) });
    const first = await engine.signIn(login);
    const limit = first.session.absoluteExpiresAt as number;
    let token = first.accessToken;
    let exchanges = 0;
    let stoppedWith: string | null = null;
    // Exchange every 4 minutes, as an active client would; the chain must stop at the limit.
    while (stoppedWith === null) {
      clock.advance(240);
      try {
        const next = await engine.exchange({ accessToken: token });
        expect(next.claims.exp * 1000).toBeLessThanOrEqual(limit);
        token = next.accessToken;
        exchanges++;
      } catch (e) {
        stoppedWith = (e as ProlongError).code;
      }
    }
    expect(stoppedWith).toBe("session_expired");
    expect(clock.now()).toBeGreaterThanOrEqual(limit);
    expect(exchanges).toBe(14);
  });

  it("is refused as unauthorized_client to a profile that did not opt in, before anything is touched", async () => {
    const { engine, clock, store } = await setup();
    const native = await engine.signIn({ ...login, clientId: "native" });
    const web = await engine.signIn(login);
    clock.advance(60);
    // The native profile has no absolute lifetime: a copied token could be renewed forever.
    expect(await codeOf(engine.exchange({ accessToken: native.accessToken }))).toBe("unauthorized_client");
    expect(await codeOf(engine.exchange({ accessToken: web.accessToken }))).toBe("unauthorized_client");
    expect((await store.sessions.readSession(native.sessionId))?.session?.lastActiveAt).toBe(
      native.session.lastActiveAt,
    );
  });

  it("refuses a refresh token or garbage", async () => {
    const { engine } = await setup({ policy: exchangePolicy() });
    const a = await engine.signIn(login);
    expect(await codeOf(engine.exchange({ accessToken: a.refreshToken }))).toBe("invalid_token");
    expect(await codeOf(engine.exchange({ accessToken: "x".repeat(10_000) }))).toBe("invalid_token");
  });
});

describe("authenticating the server's own bearer routes", () => {
  it("accepts a live session's token and refuses it once the session ends", async () => {
    const { engine } = await setup();
    const a = await engine.signIn(login);
    const { session } = await engine.authenticate(a.accessToken);
    expect(session.id).toBe(a.sessionId);
    await engine.logout(a.sessionId);
    expect(await codeOf(engine.authenticate(a.accessToken))).toBe("session_revoked");
  });

  it("checks a token's signature once, and still reads its session's standing on every call", async () => {
    const { engine, store, user } = await setup();
    const a = await engine.signIn(login);
    const b = await engine.signIn(login);
    const findKey = vi.spyOn(engine.keys, "find");
    const reads = vi.spyOn(store.sessions, "readSession");
    for (let i = 0; i < 3; i++)
      expect((await engine.authenticate(a.accessToken)).session.id).toBe(a.sessionId);
    // The key is looked up for the first signature check only: the later ones are remembered.
    expect(findKey).toHaveBeenCalledTimes(1);
    expect(reads).toHaveBeenCalledTimes(3);

    // A remembered token is refused as soon as its session is revoked.
    await engine.revokeSession(user.id, a.sessionId);
    expect(await codeOf(engine.authenticate(a.accessToken))).toBe("session_revoked");

    // And as soon as the subject's token version passes the token's `ver`.
    expect((await engine.authenticate(b.accessToken)).session.id).toBe(b.sessionId);
    await store.sessions.bumpTokenVersion(user.id, Date.now());
    expect(await codeOf(engine.authenticate(b.accessToken))).toBe("session_revoked");
    expect(findKey).toHaveBeenCalledTimes(2);
  });

  it("refuses what @prolong/verify refuses: a padded or non-canonical signature, 6 s past exp", async () => {
    const { engine, clock } = await setup({ policy: exchangePolicy() });
    const a = await engine.signIn(login);
    const [h, p, s] = a.accessToken.split(".") as [string, string, string];
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    // An Ed25519 signature leaves 4 unused bits in its last character: flipping one decodes alike.
    const twin = `${s.slice(0, -1)}${alphabet[alphabet.indexOf(s.at(-1) as string) ^ 1]}`;
    expect(Buffer.from(twin, "base64url").equals(Buffer.from(s, "base64url"))).toBe(true);
    for (const malleated of [`${h}.${p}.${s}==`, `${h}.${p}.${twin}`]) {
      expect(await codeOf(engine.authenticate(malleated))).toBe("invalid_token");
      expect(await codeOf(engine.exchange({ accessToken: malleated }))).toBe("invalid_token");
      expect(await engine.introspect(malleated, "access_token")).toEqual({ active: false });
    }
    await engine.revokeToken({ token: `${h}.${p}.${twin}`, tokenTypeHint: "access_token" });
    expect((await engine.authenticate(a.accessToken)).session.revokedAt).toBeNull();
    // The default tolerance is 5 s, as the verifier's: 6 s past exp is expired.
    clock.advance(a.claims.exp - a.claims.iat + 4);
    expect((await engine.authenticate(a.accessToken)).claims.sid).toBe(a.sessionId);
    clock.advance(2);
    expect(await codeOf(engine.authenticate(a.accessToken))).toBe("token_expired");
    expect(await codeOf(engine.exchange({ accessToken: a.accessToken }))).toBe("token_expired");
  });

  it("sees a key rotated into the ring at once, and takes its clock tolerance from the options", async () => {
    const { engine, clock } = await setup({ clockTolerance: 30 });
    const rotated = await engine.rotateKeys({ force: true });
    const a = await engine.signIn(login);
    expect(decodeJwt(a.accessToken).header.kid).toBe(rotated.kid);
    clock.advance(a.claims.exp - a.claims.iat + 29);
    expect((await engine.authenticate(a.accessToken)).claims.sid).toBe(a.sessionId);
    clock.advance(2);
    expect(await codeOf(engine.authenticate(a.accessToken))).toBe("token_expired");
    await expect(setup({ clockTolerance: -1 })).rejects.toThrow(/clockTolerance/);
  });

  it("tells an expired token apart from an invalid one", async () => {
    const { engine, clock } = await setup();
    const a = await engine.signIn(login);
    const [h, p, s] = a.accessToken.split(".");
    const payload = JSON.parse(Buffer.from(p as string, "base64url").toString());
    payload.sub = "someone-else";
    const forged = [h, Buffer.from(JSON.stringify(payload)).toString("base64url"), s].join(".");
    expect(await codeOf(engine.authenticate(forged))).toBe("invalid_token");
    clock.advance(306);
    expect(await codeOf(engine.authenticate(a.accessToken))).toBe("token_expired");
  });
});

describe("introspection (RFC 7662) and revocation (RFC 7009)", () => {
  it("describes live access and refresh tokens and calls the rest inactive", async () => {
    const { engine, user } = await setup();
    const a = await engine.signIn(login);
    expect(await engine.introspect(a.accessToken)).toMatchObject({
      active: true,
      token_type: "Bearer",
      sub: user.id,
      sid: a.sessionId,
      client_id: "web",
      exp: a.claims.exp,
      iat: a.claims.iat,
    });
    expect(await engine.introspect(a.refreshToken)).toMatchObject({
      active: true,
      sid: a.sessionId,
    });
    expect(await engine.introspect("garbage")).toEqual({ active: false });
    const next = await engine.refresh({ refreshToken: a.refreshToken, clientId: "web" });
    // Rotated away: no longer the current token.
    expect(await engine.introspect(a.refreshToken)).toEqual({ active: false });
    await engine.logout(a.sessionId);
    expect(await engine.introspect(next.accessToken)).toEqual({ active: false });
  });

  it("revoking a refresh token or an access token ends its session; unknown tokens are ignored", async () => {
    const { engine, store } = await setup();
    const a = await engine.signIn(login);
    await engine.revokeToken({ token: a.refreshToken });
    expect(await codeOf(engine.refresh({ refreshToken: a.refreshToken, clientId: "web" }))).toBe(
      "session_revoked",
    );
    // The holder of a token revoking it is signing out: the audit trail says so.
    expect((await store.sessions.readSession(a.sessionId))?.session?.revokedReason).toBe("logout");

    const b = await engine.signIn(login);
    await engine.revokeToken({ token: b.accessToken, tokenTypeHint: "access_token" });
    expect(await codeOf(engine.refresh({ refreshToken: b.refreshToken, clientId: "web" }))).toBe(
      "session_revoked",
    );

    await expect(engine.revokeToken({ token: "unknown" })).resolves.toBeUndefined();
  });

  it("does not let one client revoke another client's token", async () => {
    const { engine } = await setup();
    const a = await engine.signIn({ ...login, clientId: "native" });
    await engine.revokeToken({ token: a.refreshToken, clientId: "web" });
    await expect(engine.refresh({ refreshToken: a.refreshToken, clientId: "native" })).resolves.toBeTruthy();
  });
});

describe("revocation feed snapshot (P6)", () => {
  it("holds recent revocations and version bumps until no access token they cover can be valid", async () => {
    const { engine, clock, user } = await setup();
    const a = await engine.signIn(login);
    await engine.logout(a.sessionId);
    await engine.logoutEverywhere(user.id);
    const snapshot = await engine.revocationSnapshot();
    const until = snapshot.entries[0]?.relevantUntil as number;
    // At least an access-token lifetime (300 s) from the revocation.
    expect(until).toBeGreaterThanOrEqual(clock.now() + 300_000);
    expect(snapshot.entries).toEqual([
      { kind: "revoked", sessionId: a.sessionId, subjectId: user.id, relevantUntil: until },
      { kind: "version", subjectId: user.id, version: 1, relevantUntil: until },
    ]);
    clock.advance(400);
    expect((await engine.revocationSnapshot()).entries).toEqual([]);
  });

  it("reads on from the snapshot's cursor: each later change once, in order, in bounded batches", async () => {
    const { engine, user } = await setup();
    const before = await engine.signIn(login);
    await engine.logout(before.sessionId);
    const snapshot = await engine.revocationSnapshot();
    expect(await engine.revocationsAfter(snapshot.cursor, 10)).toEqual({
      entries: [],
      cursor: expect.any(String),
    });

    const sessions = [await engine.signIn(login), await engine.signIn(login), await engine.signIn(login)];
    for (const s of sessions) await engine.logout(s.sessionId);
    await engine.logoutEverywhere(user.id);
    const first = await engine.revocationsAfter(snapshot.cursor, 2);
    const rest = await engine.revocationsAfter(first.cursor, 10);
    expect(
      [...first.entries, ...rest.entries].map((e) => (e.kind === "revoked" ? e.sessionId : e.version)),
    ).toEqual([...sessions.map((s) => s.sessionId), 1]);
    expect(first.entries).toHaveLength(2);
  });

  it("includes revocations another engine made on the same store, as another process would", async () => {
    const { engine, store, user } = await setup();
    const other = await SessionEngine.create({
      store,
      issuer: "https://auth.example.test",
      passwordCost: testPasswordCost,
    });
    const snapshot = await engine.revocationSnapshot();
    const a = await engine.signIn(login);
    await other.disableSubject(user.id);
    const later = await engine.revocationsAfter(snapshot.cursor, 10);
    expect(later.entries).toEqual([expect.objectContaining({ kind: "revoked", sessionId: a.sessionId })]);
  });
});

describe("access tokens (RFC 9068)", () => {
  it("have the RFC 9068 header and every claim of docs/protocol.md", async () => {
    const { engine, user } = await setup();
    const a = await engine.signIn(login);
    const { header, payload } = decodeJwt(a.accessToken);
    expect(header).toEqual({ alg: "EdDSA", typ: "at+jwt", kid: engine.keys.active.kid });
    expect(payload).toMatchObject({
      iss: "https://auth.example.test",
      sub: user.id,
      aud: "prolong",
      client_id: "web",
      sid: a.sessionId,
      ver: 0,
      roles: ["reader"],
    });
    const iat = payload.iat as number;
    expect(payload.exp).toBe(iat + 300);
    expect(payload.rfa).toBe(iat + 240);
    expect(payload.auth_time).toBe(iat);
    expect(typeof payload.jti).toBe("string");
  });

  it("keep auth_time from the original sign-in across refreshes", async () => {
    const { engine, clock } = await setup();
    const a = await engine.signIn(login);
    clock.advance(3600);
    const b = await engine.refresh({ refreshToken: a.refreshToken, clientId: "web" });
    expect(b.claims.auth_time).toBe(a.claims.auth_time);
    expect(b.claims.iat).toBe(a.claims.iat + 3600);
  });

  it("let the claims hook add claims but never override reserved ones", async () => {
    const { engine } = await setup({
      audience: "api",
      claims: () => ({ tenant: "acme", sub: "admin", iss: "https://evil", exp: 9_999_999_999, ver: 99 }),
    });
    const a = await engine.signIn(login);
    const { payload } = decodeJwt(a.accessToken);
    expect(payload.tenant).toBe("acme");
    expect(payload.sub).toBe(a.session.subjectId);
    expect(payload.iss).toBe("https://auth.example.test");
    expect(payload.aud).toBe("api");
    expect(payload.ver).toBe(0);
    expect((payload.exp as number) - (payload.iat as number)).toBe(300);
  });

  it("let no claims hook set acr, amr or act, which routes' step-up requirements trust", async () => {
    const { engine } = await setup({
      claims: () => ({ acr: "mfa", amr: ["hwk"], act: { sub: "admin-1" }, tenant: "acme" }),
    });
    const { payload } = decodeJwt((await engine.signIn(login)).accessToken);
    expect(payload.tenant).toBe("acme");
    expect(payload).not.toHaveProperty("acr");
    // The session's own record of how it signed in, not the hook's.
    expect(payload.amr).toEqual(["pwd"]);
    expect(payload).not.toHaveProperty("act");
  });

  it("carries every added claim as it came, a claim named __proto__ included", async () => {
    // As a store's JSON would hold them: "__proto__" is an own property, not a prototype.
    const added = JSON.parse('{"roles":["reader"],"__proto__":{"tier":"gold"},"jti":"mine"}');
    const { engine } = await setup({ claims: () => added });
    const a = await engine.signIn(login);
    const payload = JSON.parse(Buffer.from(a.accessToken.split(".")[1] as string, "base64url").toString());
    expect(Object.getOwnPropertyDescriptor(payload, "__proto__")?.value).toEqual({ tier: "gold" });
    expect(payload.roles).toEqual(["reader"]);
    expect(payload.jti).not.toBe("mine");
    expect(Object.hasOwn(a.claims, "__proto__")).toBe(true);
  });
});

describe("users", () => {
  it("refuses duplicate usernames, whatever their case", async () => {
    const { engine } = await setup();
    expect(await codeOf(engine.createAccount({ username: "MARYO", password: "another password" }))).toBe(
      "conflict",
    );
  });

  it("refuses short passwords and odd usernames", async () => {
    const { engine } = await setup();
    expect(await codeOf(engine.createAccount({ username: "bob", password: "short" }))).toBe(
      "invalid_request",
    );
    expect(await codeOf(engine.createAccount({ username: "bob smith", password: "long enough pw" }))).toBe(
      "invalid_request",
    );
  });
});

describe("upkeep", () => {
  it("purges sessions that ended longer ago than the retention, and keeps the rest", async () => {
    const { engine, clock, store } = await setup();
    const ended = await engine.signIn(login);
    await engine.logout(ended.sessionId);
    clock.advance(3 * 86_400);
    const live = await engine.signIn(login);
    expect(await engine.purge(86_400)).toBe(1);
    expect(await store.sessions.readSession(ended.sessionId)).toBeNull();
    expect((await store.sessions.readSession(live.sessionId))?.session).not.toBeNull();
  });

  it("never purges inside the revocation feed's window, whatever retention is asked", async () => {
    const { engine, clock } = await setup();
    const ended = await engine.signIn(login);
    await engine.logout(ended.sessionId);
    clock.advance(60);
    expect(await engine.purge(0)).toBe(0);
    expect((await engine.revocationSnapshot()).entries).toEqual([
      expect.objectContaining({ kind: "revoked", sessionId: ended.sessionId }),
    ]);
  });
});

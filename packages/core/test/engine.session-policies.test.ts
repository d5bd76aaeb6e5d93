import { defaultPolicy, nativeProfile, type Policy, ProlongError, webProfile } from "@prolong/core";
import { describe, expect, it } from "vitest";
import { decodeJwt, setup } from "./fixtures.js";

async function codeOf(promise: Promise<unknown>): Promise<string | null> {
  return promise.then(
    () => null,
    (e: unknown) => (e instanceof ProlongError ? e.code : `not a ProlongError: ${String(e)}`),
  );
}

/** The default policy with a device limit on the web profile, and a second web client `spa`. */
function limited(max: number, onLimit: "evict" | "refuse"): Policy {
  const policy = defaultPolicy();
  policy.profiles.web = { ...webProfile, maxSessions: { max, onLimit } };
  policy.clients.spa = { profile: "web" };
  return policy;
}

const live = async (engine: Awaited<ReturnType<typeof setup>>["engine"], subjectId: string) =>
  (await engine.listSessions(subjectId)).map((s) => s.id).sort();

describe("device limits (docs/session-policies.md)", () => {
  it("evicts the least recently active session of the profile's clients, and reports it", async () => {
    const { engine, clock, events } = await setup({ policy: limited(2, "evict") });
    const a = await engine.startSessionForSubject({ subjectId: "u1", clientId: "web" });
    clock.advance(10);
    const b = await engine.startSessionForSubject({ subjectId: "u1", clientId: "spa" });
    clock.advance(10);
    // `a` refreshes, so `b` is now the least recently active.
    await engine.refresh({ refreshToken: a.refreshToken, clientId: "web" });
    clock.advance(10);
    // Another profile's sessions do not count.
    const phone = await engine.startSessionForSubject({ subjectId: "u1", clientId: "native" });
    const c = await engine.startSessionForSubject({ subjectId: "u1", clientId: "web" });
    expect(await live(engine, "u1")).toEqual([a.sessionId, c.sessionId, phone.sessionId].sort());
    expect(events.filter((e) => e.type === "session_evicted")).toEqual([
      expect.objectContaining({ subjectId: "u1", sessionId: b.sessionId, by: c.sessionId }),
    ]);
    expect(await codeOf(engine.refresh({ refreshToken: b.refreshToken, clientId: "spa" }))).toBe(
      "session_revoked",
    );
    expect((await engine.findSession(b.sessionId))?.revokedReason).toBe("evicted");
    const log = await engine.listEvents({ limit: 50, type: "session_evicted" });
    expect(log.events).toEqual([
      expect.objectContaining({ sessionId: b.sessionId, detail: { by: c.sessionId } }),
    ]);
    // The eviction is on the revocation feed.
    const snapshot = await engine.revocationSnapshot();
    expect(snapshot.entries).toContainEqual(
      expect.objectContaining({ kind: "revoked", sessionId: b.sessionId }),
    );
  });

  it("refuses a sign-in over the limit with session_limit, naming the limit and no other session", async () => {
    const { engine } = await setup({ policy: limited(1, "refuse") });
    const first = await engine.signIn({
      username: "maryo",
      password: "correct horse battery",
      deviceName: "Laptop",
    });
    const refused = await engine
      .signIn({ username: "maryo", password: "correct horse battery" })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ProlongError);
    expect((refused as ProlongError).code).toBe("session_limit");
    expect((refused as ProlongError).message).toContain("at most 1");
    expect((refused as ProlongError).message).not.toContain("Laptop");
    expect((refused as ProlongError).message).not.toContain(first.sessionId);
    expect(await live(engine, first.claims.sub)).toEqual([first.sessionId]);
    // Handoff redemption starts a session too, under the same limit.
    const handoff = await engine.createHandoff({ subjectId: first.claims.sub });
    expect(await codeOf(engine.redeemHandoff({ code: handoff.code, clientId: "web" }))).toBe("session_limit");
    // Once the first signs out, there is room again.
    await engine.logout(first.sessionId);
    await engine.signIn({ username: "maryo", password: "correct horse battery" });
  });

  it("leaves impersonation sessions out: they neither count nor are evicted", async () => {
    const policy = limited(1, "evict");
    policy.profiles.native = { ...nativeProfile, maxSessions: { max: 1, onLimit: "refuse" } };
    const { engine } = await setup({ policy });
    const own = await engine.startSessionForSubject({ subjectId: "u2", clientId: "native" });
    const acting = await engine.impersonate({
      subjectId: "u2",
      actor: "admin-1",
      ttlSeconds: 600,
      clientId: "native",
    });
    const second = await engine.impersonate({
      subjectId: "u2",
      actor: "admin-2",
      ttlSeconds: 600,
      clientId: "native",
    });
    expect(await live(engine, "u2")).toEqual([own.sessionId, acting.sessionId, second.sessionId].sort());
    expect(await codeOf(engine.startSessionForSubject({ subjectId: "u2", clientId: "native" }))).toBe(
      "session_limit",
    );
  });

  it("is off by default and checked when configured", async () => {
    const { engine } = await setup();
    for (let i = 0; i < 5; i += 1) await engine.startSessionForSubject({ subjectId: "u3" });
    expect(await live(engine, "u3")).toHaveLength(5);
    const bad = limited(0, "evict");
    expect(await codeOf(setup({ policy: bad }))).toBe("invalid_config");
    const worse = defaultPolicy();
    worse.profiles.web = { ...webProfile, maxSessions: { max: 2, onLimit: "drop" as "evict" } };
    await expect(setup({ policy: worse })).rejects.toThrow(/profiles\.web\.maxSessions\.onLimit/);
  });
});

describe("step-up (RFC 9470)", () => {
  it("carries acr/amr from session start into access tokens, and raises them on the same session", async () => {
    const { engine, clock, events } = await setup();
    const start = await engine.startSessionForSubject({
      subjectId: "u4",
      clientId: "native",
      acr: "urn:low",
      amr: ["pwd"],
    });
    expect(decodeJwt(start.accessToken).payload).toMatchObject({ acr: "urn:low", amr: ["pwd"] });
    const before = start.session;
    clock.advance(120);
    const stepped = await engine.stepUp(start.sessionId, { acr: "urn:high", amr: ["pwd", "otp"] });
    expect(stepped).toEqual({ sessionId: start.sessionId, authTime: Math.floor(clock.now() / 1000) });
    const next = await engine.refresh({ refreshToken: start.refreshToken, clientId: "native" });
    const claims = decodeJwt(next.accessToken).payload;
    expect(claims).toMatchObject({ sid: start.sessionId, acr: "urn:high", amr: ["pwd", "otp"] });
    expect(claims.auth_time).toBe(stepped.authTime);
    // Deadlines stay where they were: a stronger sign-in is not a longer one.
    const after = await engine.findSession(start.sessionId);
    expect(after?.absoluteExpiresAt).toBe(before.absoluteExpiresAt);
    expect(events.filter((e) => e.type === "stepped_up")).toEqual([
      expect.objectContaining({ sessionId: start.sessionId, acr: "urn:high", amr: ["pwd", "otp"] }),
    ]);
    const log = await engine.listEvents({ limit: 10, type: "stepped_up" });
    expect(log.events).toEqual([
      expect.objectContaining({
        sessionId: start.sessionId,
        detail: { acr: "urn:high", amr: ["pwd", "otp"] },
      }),
    ]);
  });

  it("a password sign-in says pwd; a plain session carries no acr; bad values are named", async () => {
    const { engine } = await setup();
    const signedIn = await engine.signIn({ username: "maryo", password: "correct horse battery" });
    expect(decodeJwt(signedIn.accessToken).payload.amr).toEqual(["pwd"]);
    const plain = await engine.startSessionForSubject({ subjectId: "u5" });
    expect(decodeJwt(plain.accessToken).payload).not.toHaveProperty("acr");
    expect(decodeJwt(plain.accessToken).payload).not.toHaveProperty("amr");
    await expect(engine.stepUp(plain.sessionId, { acr: "has space" })).rejects.toThrow(/^acr:/);
    await expect(engine.stepUp(plain.sessionId, { amr: ["ok", 3 as unknown as string] })).rejects.toThrow(
      /^amr:/,
    );
    await expect(engine.startSessionForSubject({ subjectId: "u5", acr: "" })).rejects.toThrow(/^acr:/);
  });

  it("answers not_found for a revoked or unknown session", async () => {
    const { engine } = await setup();
    const s = await engine.startSessionForSubject({ subjectId: "u6" });
    await engine.logout(s.sessionId);
    expect(await codeOf(engine.stepUp(s.sessionId, { acr: "x" }))).toBe("not_found");
    expect(await codeOf(engine.stepUp("no-such-session", { acr: "x" }))).toBe("not_found");
  });
});

describe("impersonation (RFC 8693 §4.1)", () => {
  it("puts act in every token, and ends at its limit however often it refreshes", async () => {
    const { engine, clock, events } = await setup();
    const acting = await engine.impersonate({
      subjectId: "u7",
      actor: "admin-1",
      ttlSeconds: 900,
      clientId: "native",
    });
    expect(decodeJwt(acting.accessToken).payload).toMatchObject({ sub: "u7", act: { sub: "admin-1" } });
    expect(events.find((e) => e.type === "signed_in")).toMatchObject({
      sessionId: acting.sessionId,
      actor: "admin-1",
    });
    expect((await engine.findSession(acting.sessionId))?.actor).toBe("admin-1");
    let token = acting.refreshToken;
    for (let i = 0; i < 4; i += 1) {
      clock.advance(200);
      const next = await engine.refresh({ refreshToken: token, clientId: "native" });
      expect(decodeJwt(next.accessToken).payload.act).toEqual({ sub: "admin-1" });
      expect(decodeJwt(next.accessToken).payload.exp).toBeLessThanOrEqual(acting.claims.iat + 900);
      if (next.refreshToken) token = next.refreshToken;
    }
    clock.advance(101);
    expect(await codeOf(engine.refresh({ refreshToken: token, clientId: "native" }))).toBe("session_expired");
  });

  it("caps the lifetime at the configured maximum, and checks its input", async () => {
    const { engine } = await setup({ impersonationMaxTtl: 600 });
    expect(
      await codeOf(engine.impersonate({ subjectId: "u8", actor: "a", ttlSeconds: 601, clientId: "native" })),
    ).toBe("invalid_request");
    expect(
      await codeOf(engine.impersonate({ subjectId: "u8", actor: "u8", ttlSeconds: 60, clientId: "native" })),
    ).toBe("invalid_request");
    // A web client's refresh token is a cookie, which an administrator's tool cannot hold.
    expect(
      await codeOf(engine.impersonate({ subjectId: "u8", actor: "a", ttlSeconds: 60, clientId: "web" })),
    ).toBe("unauthorized_client");
    expect(await codeOf(setup({ impersonationMaxTtl: 0 }))).toBe("invalid_config");
  });

  it("refuses the user's own operations with impersonation_forbidden", async () => {
    const { engine, user } = await setup();
    const own = await engine.startSessionForSubject({ subjectId: user.id, clientId: "native" });
    const acting = await engine.impersonate({
      subjectId: user.id,
      actor: "admin-1",
      ttlSeconds: 600,
      clientId: "native",
    });
    expect(
      await codeOf(
        engine.changePassword({
          subjectId: user.id,
          sessionId: acting.sessionId,
          currentPassword: "correct horse battery",
          newPassword: "another long password",
        }),
      ),
    ).toBe("impersonation_forbidden");
    expect(await codeOf(engine.revokeOtherSessions(user.id, acting.sessionId))).toBe(
      "impersonation_forbidden",
    );
    // Starting another impersonation from an impersonating token.
    expect(
      await codeOf(
        engine.impersonate({
          subjectId: "someone-else",
          actor: user.id,
          ttlSeconds: 60,
          clientId: "native",
          actorToken: acting.accessToken,
        }),
      ),
    ).toBe("impersonation_forbidden");
    // Nothing happened to the user's own session.
    expect((await engine.listSessions(user.id)).map((s) => s.id)).toContain(own.sessionId);
    // The user's own token may start one (an administrator who signs in with prolong).
    const byOwn = await engine.impersonate({
      subjectId: "someone-else",
      actor: user.id,
      ttlSeconds: 60,
      clientId: "native",
      actorToken: own.accessToken,
    });
    expect(decodeJwt(byOwn.accessToken).payload.act).toEqual({ sub: user.id });
  });
});

import { existsSync, readFileSync } from "node:fs";
import { defaultPolicy, HANDOFF_TTL_SECONDS, ProlongError } from "@prolong/core";
import { describe, expect, it } from "vitest";
import { setup } from "./fixtures.js";

async function codeOf(promise: Promise<unknown>): Promise<string | null> {
  return promise.then(
    () => null,
    (e: unknown) => (e instanceof ProlongError ? e.code : `not a ProlongError: ${String(e)}`),
  );
}

/** The default policy plus a second web-profile client, `spa`. */
function twoWebClients() {
  const policy = defaultPolicy();
  policy.clients.spa = { profile: "web" };
  return policy;
}

describe("handoff codes (docs/protocol.md, Handoff grant)", () => {
  it("starts a web session for the subject when redeemed, once", async () => {
    const { engine } = await setup();
    const handoff = await engine.createHandoff({ subjectId: "user-42", deviceName: "Maryo's laptop" });
    expect(handoff.expiresIn).toBe(HANDOFF_TTL_SECONDS);
    expect(HANDOFF_TTL_SECONDS).toBeLessThanOrEqual(60);
    // No session exists until the browser redeems the code.
    expect(await engine.listSessions("user-42")).toEqual([]);
    const tokens = await engine.redeemHandoff({ code: handoff.code, clientId: "web", ip: "192.0.2.4" });
    expect(tokens.claims.sub).toBe("user-42");
    expect(tokens.profile.refreshTransport).toBe("cookie");
    expect(await engine.listSessions("user-42")).toEqual([
      expect.objectContaining({ clientId: "web", deviceName: "Maryo's laptop", ip: "192.0.2.4" }),
    ]);
    // Replayed: refused, and no second session.
    expect(await codeOf(engine.redeemHandoff({ code: handoff.code, clientId: "web" }))).toBe("invalid_grant");
    expect(await engine.listSessions("user-42")).toHaveLength(1);
  });

  it("carries the backend's acr and amr into the session and its first access token", async () => {
    const { engine } = await setup();
    const handoff = await engine.createHandoff({
      subjectId: "user-42",
      acr: "urn:example:mfa",
      amr: ["pwd", "otp", "otp"],
    });
    const tokens = await engine.redeemHandoff({ code: handoff.code, clientId: "web" });
    // RFC 8176 values deduplicated, as at any session start.
    expect(tokens.claims).toMatchObject({ acr: "urn:example:mfa", amr: ["pwd", "otp"] });
    expect(await engine.findSession(tokens.sessionId)).toMatchObject({
      acr: "urn:example:mfa",
      amr: ["pwd", "otp"],
    });
    // None given: the session names none, and its tokens carry neither claim.
    const plain = await engine.redeemHandoff({
      code: (await engine.createHandoff({ subjectId: "user-42" })).code,
      clientId: "web",
    });
    expect(plain.claims).not.toHaveProperty("acr");
    expect(plain.claims).not.toHaveProperty("amr");
    expect(await engine.findSession(plain.sessionId)).toMatchObject({ acr: null, amr: null });
    // Checked when the code is made, so no code stands for values no token may carry.
    expect(await codeOf(engine.createHandoff({ subjectId: "user-42", acr: "two words" }))).toBe(
      "invalid_request",
    );
    expect(await codeOf(engine.createHandoff({ subjectId: "user-42", amr: [""] }))).toBe("invalid_request");
  });

  it("expires within a minute", async () => {
    const { engine, clock } = await setup();
    const onTime = await engine.createHandoff({ subjectId: "user-42" });
    const late = await engine.createHandoff({ subjectId: "user-42" });
    clock.advance(HANDOFF_TTL_SECONDS - 1);
    await expect(engine.redeemHandoff({ code: onTime.code, clientId: "web" })).resolves.toBeTruthy();
    clock.advance(1);
    expect(await codeOf(engine.redeemHandoff({ code: late.code, clientId: "web" }))).toBe("invalid_grant");
  });

  it("is bound to its client: another client's attempt is refused and spends the code", async () => {
    const { engine } = await setup({ policy: twoWebClients() });
    const handoff = await engine.createHandoff({ subjectId: "user-42", clientId: "spa" });
    expect(await codeOf(engine.redeemHandoff({ code: handoff.code, clientId: "web" }))).toBe("invalid_grant");
    expect(await codeOf(engine.redeemHandoff({ code: handoff.code, clientId: "spa" }))).toBe("invalid_grant");
    const fresh = await engine.createHandoff({ subjectId: "user-42", clientId: "spa" });
    const tokens = await engine.redeemHandoff({ code: fresh.code, clientId: "spa" });
    expect(tokens.claims.client_id).toBe("spa");
    expect(await codeOf(engine.redeemHandoff({ code: fresh.code, clientId: "nope" }))).toBe("invalid_client");
  });

  it("is only for clients whose refresh token travels in a cookie", async () => {
    const { engine } = await setup();
    expect(await codeOf(engine.createHandoff({ subjectId: "user-42", clientId: "native" }))).toBe(
      "unauthorized_client",
    );
    expect(await codeOf(engine.createHandoff({ subjectId: "user-42", clientId: "nope" }))).toBe(
      "invalid_client",
    );
    expect(await codeOf(engine.createHandoff({ subjectId: " user-42" }))).toBe("invalid_request");
  });

  it("refuses codes that were never made, whatever they look like", async () => {
    const { engine } = await setup();
    for (const code of ["", "short", "A".repeat(43), `${"A".repeat(42)}=`, "A".repeat(44)]) {
      expect(await codeOf(engine.redeemHandoff({ code, clientId: "web" })), code).toBe("invalid_grant");
    }
  });

  it("follows what happened to the subject after the code was made", async () => {
    const { engine, clock } = await setup();
    const disabled = await engine.createHandoff({ subjectId: "user-1" });
    await engine.disableSubject("user-1");
    expect(await codeOf(engine.redeemHandoff({ code: disabled.code, clientId: "web" }))).toBe(
      "user_disabled",
    );
    expect(await codeOf(engine.createHandoff({ subjectId: "user-1" }))).toBe("user_disabled");

    const loggedOut = await engine.createHandoff({ subjectId: "user-2" });
    await engine.logoutEverywhere("user-2");
    expect(await codeOf(engine.redeemHandoff({ code: loggedOut.code, clientId: "web" }))).toBe(
      "session_revoked",
    );

    const reauth = await engine.createHandoff({ subjectId: "user-3" });
    clock.advance(1);
    await engine.requireReauth("user-3");
    expect(await codeOf(engine.redeemHandoff({ code: reauth.code, clientId: "web" }))).toBe(
      "reauth_required",
    );
    clock.advance(1);
    const after = await engine.createHandoff({ subjectId: "user-3" });
    await expect(engine.redeemHandoff({ code: after.code, clientId: "web" })).resolves.toBeTruthy();
  });

  it("stores only the code's hash", async () => {
    const { engine, store } = await setup();
    const handoffs = await Promise.all(
      Array.from({ length: 5 }, () => engine.createHandoff({ subjectId: "user-42" })),
    );
    // Keyed by the hash: the code itself finds nothing (and spends nothing).
    for (const { code } of handoffs) expect(await store.sessions.takeHandoff(code, 0)).toBeNull();
    // On SQLite, the bytes on disk (the database and its write-ahead log) hold no code.
    const files = store.path === null ? [] : [store.path, `${store.path}-wal`].filter((f) => existsSync(f));
    if (store.kind === "sqlite") expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const bytes = readFileSync(file).toString("latin1");
      for (const { code } of handoffs) expect(bytes).not.toContain(code);
    }
    for (const { code } of handoffs) await engine.redeemHandoff({ code, clientId: "web" });
  });
});

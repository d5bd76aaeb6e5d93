import { MAX_SUBJECT_CLAIMS_BYTES, ProlongError, SUBJECT_ID_MAX, subjectIdProblem } from "@prolong/core";
import { MAX_ACCESS_TOKEN_BYTES } from "@prolong/protocol";
import { describe, expect, it } from "vitest";
import { setup } from "./fixtures.js";

async function codeOf(promise: Promise<unknown>): Promise<string | null> {
  return promise.then(
    () => null,
    (e: unknown) => (e instanceof ProlongError ? e.code : `not a ProlongError: ${String(e)}`),
  );
}

async function messageOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => "resolved",
    (e: unknown) => (e as Error).message,
  );
}

/** The application's own user, who never had a password in prolong. */
const APP_USER = "user-42";

describe("subjects are the application's users", () => {
  it("starts a session for the application's user id, which becomes the token's sub", async () => {
    const { engine } = await setup();
    expect(await engine.describeSubject(APP_USER)).toBeNull();
    const tokens = await engine.startSessionForSubject({ subjectId: APP_USER, clientId: "native" });
    expect(tokens.claims.sub).toBe(APP_USER);
    // Created on first use, with no built-in account.
    expect(await engine.describeSubject(APP_USER)).toMatchObject({
      subject: { id: APP_USER, disabled: false, tokenVersion: 0 },
      account: null,
    });
    const refreshed = await engine.refresh({ refreshToken: tokens.refreshToken, clientId: "native" });
    expect(refreshed.claims.sub).toBe(APP_USER);
    // A second sign-in finds the same subject.
    await engine.startSessionForSubject({ subjectId: APP_USER });
    expect(await engine.listSessions(APP_USER)).toHaveLength(2);
  });

  it("takes ids as applications write them: e-mail addresses, UUIDs, non-Latin scripts, 255 characters", async () => {
    const { engine } = await setup();
    for (const id of [
      "maryo@example.com",
      "9b2f7c1e-4a4d-4f2a-9a57-0f3c1b8e6d21",
      "利用者 42",
      "😀".repeat(SUBJECT_ID_MAX),
    ]) {
      const tokens = await engine.startSessionForSubject({ subjectId: id });
      expect(tokens.claims.sub).toBe(id);
    }
  });

  it("refuses ids that are empty, too long, padded or hold control characters, naming subject", async () => {
    const { engine } = await setup();
    const refused: [unknown, string][] = [
      ["", "subject: must not be empty"],
      ["a".repeat(SUBJECT_ID_MAX + 1), "subject: at most 255 characters"],
      ["😀".repeat(SUBJECT_ID_MAX + 1), "subject: at most 255 characters"],
      [" user-42", "subject: must not start or end with whitespace"],
      ["user-42\n", "subject: must not contain control characters or lone surrogates"],
      ["user\u0000-42", "subject: must not contain control characters or lone surrogates"],
      ["user\u009b42", "subject: must not contain control characters or lone surrogates"],
      ["user-\ud800", "subject: must not contain control characters or lone surrogates"],
      [42, "subject: must be a string"],
    ];
    for (const [id, message] of refused) {
      const attempt = engine.startSessionForSubject({ subjectId: id as string });
      expect(await codeOf(attempt), String(id)).toBe("invalid_request");
      expect(await messageOf(engine.startSessionForSubject({ subjectId: id as string }))).toBe(message);
    }
    // Nothing was created for any of them.
    expect(await engine.describeSubject("")).toBeNull();
    expect(await engine.describeSubject(" user-42")).toBeNull();
    expect(subjectIdProblem("user-42")).toBeNull();
  });

  it("logs a subject without an account out everywhere", async () => {
    const { engine } = await setup();
    const laptop = await engine.startSessionForSubject({ subjectId: APP_USER, clientId: "native" });
    const phone = await engine.startSessionForSubject({ subjectId: APP_USER, clientId: "native" });
    expect(await engine.logoutEverywhere(APP_USER)).toBe(2);
    for (const device of [laptop, phone]) {
      expect(await codeOf(engine.refresh({ refreshToken: device.refreshToken, clientId: "native" }))).toBe(
        "session_revoked",
      );
    }
    const again = await engine.startSessionForSubject({ subjectId: APP_USER });
    expect(again.claims.ver).toBe(1);
  });

  it("disables a subject without an account: its sessions end and no new one starts", async () => {
    const { engine } = await setup();
    const tokens = await engine.startSessionForSubject({ subjectId: APP_USER, clientId: "native" });
    await engine.disableSubject(APP_USER);
    expect(await codeOf(engine.refresh({ refreshToken: tokens.refreshToken, clientId: "native" }))).toBe(
      "user_disabled",
    );
    expect(await codeOf(engine.startSessionForSubject({ subjectId: APP_USER }))).toBe("user_disabled");
    await engine.enableSubject(APP_USER);
    await expect(engine.startSessionForSubject({ subjectId: APP_USER })).resolves.toBeTruthy();
  });

  it("requires a subject without an account to sign in again", async () => {
    const { engine, clock } = await setup();
    const tokens = await engine.startSessionForSubject({ subjectId: APP_USER, clientId: "native" });
    clock.advance(1);
    await engine.requireReauth(APP_USER);
    expect(await codeOf(engine.refresh({ refreshToken: tokens.refreshToken, clientId: "native" }))).toBe(
      "reauth_required",
    );
    // The application's login signing the user in again is the re-authentication.
    clock.advance(1);
    const again = await engine.startSessionForSubject({ subjectId: APP_USER, clientId: "native" });
    await expect(
      engine.refresh({ refreshToken: again.refreshToken, clientId: "native" }),
    ).resolves.toBeTruthy();
  });

  it("creates a subject never seen when it is disabled, so its first session is refused", async () => {
    const { engine } = await setup();
    await engine.disableSubject("user-7");
    expect(await engine.describeSubject("user-7")).toMatchObject({
      subject: { disabled: true },
      account: null,
    });
    expect(await codeOf(engine.startSessionForSubject({ subjectId: "user-7" }))).toBe("user_disabled");
  });

  it("creates a subject never seen for claims, re-auth and log-out-everywhere too", async () => {
    const { engine, clock } = await setup();
    await engine.setClaims("user-8", { roles: ["editor"] });
    const first = await engine.startSessionForSubject({ subjectId: "user-8" });
    expect(first.claims.roles).toEqual(["editor"]);

    expect(await engine.logoutEverywhere("user-9")).toBe(0);
    expect((await engine.describeSubject("user-9"))?.subject.tokenVersion).toBe(1);

    await engine.requireReauth("user-10");
    clock.advance(1);
    // Only sessions signed in before the request are held to it.
    const later = await engine.startSessionForSubject({ subjectId: "user-10", clientId: "native" });
    await expect(
      engine.refresh({ refreshToken: later.refreshToken, clientId: "native" }),
    ).resolves.toBeTruthy();
  });

  it("refuses to create a subject with an invalid id through any change", async () => {
    const { engine } = await setup();
    // Each started only when awaited, so none rejects unobserved while another runs.
    for (const change of [
      () => engine.disableSubject(" padded"),
      () => engine.enableSubject(""),
      () => engine.requireReauth("a\tb\n"),
      () => engine.setClaims("x".repeat(300), {}),
      () => engine.logoutEverywhere("\u0007"),
    ]) {
      expect(await codeOf(change())).toBe("invalid_request");
    }
  });

  it("refuses claims that would make access tokens too large for any verifier, naming claims", async () => {
    const { engine } = await setup();
    const big = { blob: "x".repeat(MAX_SUBJECT_CLAIMS_BYTES) };
    expect(await messageOf(engine.setClaims("user-11", big))).toBe(
      `claims: at most ${MAX_SUBJECT_CLAIMS_BYTES} bytes as JSON`,
    );
    expect(await codeOf(engine.createAccount({ username: "bloated", claims: big }))).toBe("invalid_request");
    expect(await engine.findAccountByName("bloated")).toBeNull();
    // Deep nesting counts by its bytes too.
    const deep = JSON.parse(`${'{"a":'.repeat(1_000)}1${"}".repeat(1_000)}`) as Record<string, unknown>;
    expect(await codeOf(engine.setClaims("user-11", deep))).toBe("invalid_request");
    // Up to the bound, the token carries them and stays within what verifiers accept.
    const fits = { blob: "x".repeat(MAX_SUBJECT_CLAIMS_BYTES - 20) };
    await engine.setClaims("user-11", fits);
    const tokens = await engine.startSessionForSubject({ subjectId: "user-11" });
    expect(tokens.accessToken.length).toBeLessThanOrEqual(MAX_ACCESS_TOKEN_BYTES);
    expect((await engine.authenticate(tokens.accessToken)).claims.blob).toBe(fits.blob);
  });

  it("refuses to hand out a token a claims hook made too large, rather than one nobody accepts", async () => {
    const { engine } = await setup({ claims: () => ({ blob: "x".repeat(MAX_ACCESS_TOKEN_BYTES) }) });
    expect(await codeOf(engine.startSessionForSubject({ subjectId: "user-12" }))).toBe("invalid_config");
  });
});

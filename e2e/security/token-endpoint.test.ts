import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ADMIN_TOKEN,
  createAccount,
  FORM,
  REFRESH_COOKIE,
  rawRequest,
  refresh,
  refreshCookieOf,
  type SignedIn,
  signIn,
  sleep,
  startTarget,
  type Target,
  tokenRequest,
} from "./target.js";

/**
 * The token endpoint of a real server process under attack: replayed, stolen, foreign and
 * dead refresh tokens, bodies that are not what it takes, and guessing. Every answer is
 * RFC 6749 §5.2's, with prolong's finer code in `prolong_error` (docs/protocol.md, Errors).
 */

const PASSWORD = "correct horse battery staple";
const NEW_PASSWORD = "a brand new passphrase here";
const HANDOFF = "urn:prolong:grant-type:handoff";

/** What an OAuth error answer says: its status and body. */
async function oauthError(response: Response) {
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const grantFailure = (prolongError: string) => ({
  status: 400,
  body: { error: "invalid_grant", error_description: expect.any(String), prolong_error: prolongError },
});
const invalidRequest = (status = 400) => ({
  status,
  body: { error: "invalid_request", error_description: expect.any(String) },
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe("the token endpoint of a real server", () => {
  let target: Target;
  let users = 0;

  /** A fresh account, so no test's sessions or password change touch another's. */
  async function newUser(): Promise<{ username: string; id: string }> {
    users += 1;
    const username = `user-${users}`;
    return { username, id: await createAccount(target, username, PASSWORD) };
  }

  async function native(username: string): Promise<SignedIn & { refresh_token: string }> {
    return (await signIn(target, { username, password: PASSWORD, client_id: "native" })) as SignedIn & {
      refresh_token: string;
    };
  }

  async function rotated(refreshToken: string): Promise<SignedIn & { refresh_token: string }> {
    const response = await refresh(target, refreshToken);
    expect(response.status, await response.clone().text()).toBe(200);
    return (await response.json()) as SignedIn & { refresh_token: string };
  }

  beforeAll(async () => {
    target = await startTarget({
      // A client whose sessions end 2 s after sign-in, however often they refresh.
      profiles: {
        brief: { refreshTransport: "body", accessTokenTtl: 1, absoluteLifetime: 2, idleTimeout: 60 },
      },
      clients: { brief: { profile: "brief" } },
    });
  }, 60_000);
  afterAll(() => target?.stop());

  it("a reused refresh token revokes its whole family and records reuse_detected", async () => {
    const { username, id } = await newUser();
    const first = await native(username);
    const second = await rotated(first.refresh_token);
    const third = await rotated(second.refresh_token);
    const fourth = await rotated(third.refresh_token);
    // Two generations back inside the grace window, a straggler: an access token and no
    // refresh token, and the session goes on (docs/protocol.md, "Rotation: replays and stragglers").
    const straggler = await refresh(target, second.refresh_token);
    expect(straggler.status).toBe(200);
    expect(straggler.headers.get("cache-control")).toBe("private, no-store");
    const late = (await straggler.json()) as Record<string, unknown>;
    expect(late).toMatchObject({ token_type: "Bearer", session_id: first.session_id });
    expect(late).not.toHaveProperty("refresh_token");
    // The first token, three generations back: a thief's copy.
    expect(await oauthError(await refresh(target, first.refresh_token))).toEqual(
      grantFailure("reuse_detected"),
    );
    // Every token of the family is dead now, the newest one too, and its access token.
    expect(await oauthError(await refresh(target, fourth.refresh_token))).toEqual(
      grantFailure("session_revoked"),
    );
    expect(await oauthError(await refresh(target, third.refresh_token))).toEqual(
      grantFailure("session_revoked"),
    );
    expect(await oauthError(await refresh(target, second.refresh_token))).toEqual(
      grantFailure("session_revoked"),
    );
    const sessions = await fetch(`${target.url}/sessions`, { headers: bearer(fourth.access_token) });
    expect(sessions.status).toBe(401);
    expect(((await sessions.json()) as { error: string }).error).toBe("invalid_token");
    // The security-event log tells the administrator which generation came back.
    const events = await target.admin("GET", `/events?type=reuse_detected&session=${first.session_id}`);
    expect(events.status).toBe(200);
    expect(((await events.json()) as { events: unknown[] }).events).toEqual([
      expect.objectContaining({
        type: "reuse_detected",
        subject_id: id,
        session_id: first.session_id,
        detail: { generation: 0 },
      }),
    ]);
    const session = await target.admin("GET", `/sessions/${first.session_id}`);
    expect(await session.json()).toMatchObject({ state: "revoked", revoked_reason: "reuse" });
  });

  it("another client's refresh token is refused, and the session is left as it was (RFC 6749 §6)", async () => {
    const { username } = await newUser();
    const tokens = await native(username);
    expect(await oauthError(await refresh(target, tokens.refresh_token, "web"))).toEqual(
      grantFailure("invalid_grant"),
    );
    expect(await oauthError(await refresh(target, tokens.refresh_token, "brief"))).toEqual(
      grantFailure("invalid_grant"),
    );
    expect(await oauthError(await refresh(target, tokens.refresh_token, "no-such-client"))).toEqual({
      status: 401,
      body: { error: "invalid_client", error_description: expect.any(String) },
    });
    // A web session's cookie value, sent as a native client's form field.
    const web = await signIn(target, { username, password: PASSWORD, client_id: "web" });
    expect(await oauthError(await refresh(target, web.cookie as string, "native"))).toEqual(
      grantFailure("invalid_grant"),
    );
    // Nothing was rotated or revoked by those attempts.
    await rotated(tokens.refresh_token);
  });

  describe("a session that ended refreshes no more", () => {
    it("after POST /logout", async () => {
      const { username } = await newUser();
      const tokens = await native(username);
      const out = await fetch(`${target.url}/logout`, {
        method: "POST",
        headers: { ...bearer(tokens.access_token), "content-type": "application/json" },
        body: "{}",
      });
      expect(out.status).toBe(204);
      expect(await oauthError(await refresh(target, tokens.refresh_token))).toEqual(
        grantFailure("session_revoked"),
      );
    });

    it("after RFC 7009 revocation, native and web (the cookie cleared)", async () => {
      const { username } = await newUser();
      const tokens = await native(username);
      const revoked = await fetch(`${target.url}/oauth/revoke`, {
        method: "POST",
        headers: { "content-type": FORM },
        body: new URLSearchParams({
          token: tokens.refresh_token,
          token_type_hint: "refresh_token",
          client_id: "native",
        }),
      });
      expect(revoked.status).toBe(200);
      expect(await revoked.json()).toEqual({});
      expect(await oauthError(await refresh(target, tokens.refresh_token))).toEqual(
        grantFailure("session_revoked"),
      );

      const web = await signIn(target, { username, password: PASSWORD, client_id: "web" });
      const cookie = `${REFRESH_COOKIE}=${web.cookie}`;
      const out = await fetch(`${target.url}/oauth/revoke`, {
        method: "POST",
        headers: { "content-type": FORM, cookie, "prolong-csrf": "1" },
        body: new URLSearchParams({ token_type_hint: "refresh_token", client_id: "web" }),
      });
      expect(out.status).toBe(200);
      expect(out.headers.getSetCookie()).toEqual([
        expect.stringMatching(/^__Secure-prolong-rt=; .*Max-Age=0/),
      ]);
      const again = await tokenRequest(
        target,
        { grant_type: "refresh_token", client_id: "web" },
        { cookie, "prolong-csrf": "1" },
      );
      expect(await oauthError(again)).toEqual(grantFailure("session_revoked"));
    });

    it("after its user revoked it from another device, or an administrator did", async () => {
      const { username } = await newUser();
      const [mine, other, third] = [await native(username), await native(username), await native(username)];
      const deleted = await fetch(`${target.url}/sessions/${other.session_id}`, {
        method: "DELETE",
        headers: bearer(mine.access_token),
      });
      expect(deleted.status).toBe(204);
      expect(await oauthError(await refresh(target, other.refresh_token))).toEqual(
        grantFailure("session_revoked"),
      );
      expect((await target.admin("DELETE", `/sessions/${third.session_id}`)).status).toBe(204);
      expect(await oauthError(await refresh(target, third.refresh_token))).toEqual(
        grantFailure("session_revoked"),
      );
      await rotated(mine.refresh_token);
    });

    it("after a password change elsewhere; the session that changed it goes on", async () => {
      const { username } = await newUser();
      const [elsewhere, here] = [await native(username), await native(username)];
      const changed = await fetch(`${target.url}/password`, {
        method: "POST",
        headers: { ...bearer(here.access_token), "content-type": "application/json" },
        body: JSON.stringify({ current_password: PASSWORD, new_password: NEW_PASSWORD }),
      });
      expect(changed.status).toBe(200);
      expect(await changed.json()).toEqual({ revoked_other_sessions: 1 });
      expect(await oauthError(await refresh(target, elsewhere.refresh_token))).toEqual(
        grantFailure("session_revoked"),
      );
      await rotated(here.refresh_token);
    });

    it("after its user was disabled", async () => {
      const { username, id } = await newUser();
      const tokens = await native(username);
      expect((await target.admin("POST", `/subjects/${id}/disable`)).status).toBe(200);
      expect(await oauthError(await refresh(target, tokens.refresh_token))).toEqual(
        grantFailure("user_disabled"),
      );
      const login = await fetch(`${target.url}/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username, password: PASSWORD, client_id: "native" }),
      });
      expect(login.status).toBe(403);
      expect(((await login.json()) as { error: string }).error).toBe("user_disabled");
    });

    it("after an administrator asked for re-authentication; a new sign-in works", async () => {
      const { username, id } = await newUser();
      const tokens = await native(username);
      expect((await target.admin("POST", `/subjects/${id}/reauth`)).status).toBe(200);
      expect(await oauthError(await refresh(target, tokens.refresh_token))).toEqual(
        grantFailure("reauth_required"),
      );
      await rotated((await native(username)).refresh_token);
    });

    it("after its absolute lifetime, however often it refreshed", async () => {
      const { username } = await newUser();
      const signedIn = (await signIn(target, {
        username,
        password: PASSWORD,
        client_id: "brief",
      })) as SignedIn & {
        refresh_token: string;
      };
      await sleep(1_000);
      const renewed = await refresh(target, signedIn.refresh_token, "brief");
      expect(renewed.status).toBe(200);
      const { refresh_token } = (await renewed.json()) as { refresh_token: string };
      await sleep(1_200);
      expect(await oauthError(await refresh(target, refresh_token, "brief"))).toEqual(
        grantFailure("session_expired"),
      );
    });
  });

  it("refuses bodies it does not take, naming no secret and setting no cookie", async () => {
    const { username } = await newUser();
    const tokens = await native(username);
    const form = (text: string) =>
      rawRequest(target.url, {
        method: "POST",
        path: "/oauth/token",
        headers: { "content-type": FORM },
        body: text,
      });
    const genuine = new URLSearchParams({
      grant_type: "refresh_token",
      refresh_token: tokens.refresh_token,
      client_id: "native",
    }).toString();
    const cases: [
      string,
      () => Promise<{ status: number; headers: Record<string, unknown>; body: string }>,
      object,
    ][] = [
      [
        "no body and no content type",
        () => rawRequest(target.url, { method: "POST", path: "/oauth/token" }),
        invalidRequest(),
      ],
      ["an empty form", () => form(""), invalidRequest()],
      [
        "a grant type we do not serve",
        () => form("grant_type=password&username=a&password=b"),
        { status: 400, body: { error: "unsupported_grant_type", error_description: expect.any(String) } },
      ],
      [
        "the authorization-code grant",
        () => form("grant_type=authorization_code&code=x&client_id=native"),
        { status: 400, body: { error: "unsupported_grant_type", error_description: expect.any(String) } },
      ],
      ["grant_type twice", () => form(`${genuine}&grant_type=refresh_token`), invalidRequest()],
      [
        "refresh_token twice",
        () => form(`${genuine}&refresh_token=${tokens.refresh_token}`),
        invalidRequest(),
      ],
      ["no refresh_token", () => form("grant_type=refresh_token&client_id=native"), invalidRequest()],
      [
        "no client_id",
        () => form(`grant_type=refresh_token&refresh_token=${tokens.refresh_token}`),
        invalidRequest(),
      ],
      [
        "an empty refresh_token",
        () => form("grant_type=refresh_token&refresh_token=&client_id=native"),
        grantFailure("invalid_grant"),
      ],
      [
        "a refresh_token of 10 000 characters",
        () => form(`grant_type=refresh_token&refresh_token=${"A".repeat(10_000)}&client_id=native`),
        grantFailure("invalid_grant"),
      ],
      [
        "a refresh_token of bad percent-encoding",
        () => form("grant_type=refresh_token&refresh_token=%ZZ%&client_id=native"),
        grantFailure("invalid_grant"),
      ],
      [
        "a refresh_token with NUL and non-ASCII",
        () =>
          form(
            `grant_type=refresh_token&refresh_token=${encodeURIComponent("\u0000é\u202e")}&client_id=native`,
          ),
        grantFailure("invalid_grant"),
      ],
      [
        "the access token as the refresh token",
        () => form(`grant_type=refresh_token&refresh_token=${tokens.access_token}&client_id=native`),
        grantFailure("invalid_grant"),
      ],
      [
        "grant_type as an array",
        () => form(`grant_type[]=refresh_token&refresh_token=${tokens.refresh_token}&client_id=native`),
        invalidRequest(),
      ],
      [
        "a __proto__ field",
        () => form(`__proto__[admin]=1&__proto__=x&${genuine.replace("grant_type=refresh_token&", "")}`),
        invalidRequest(),
      ],
      ["bytes that are not text", () => form(randomBytes(512).toString("latin1")), invalidRequest()],
    ];
    const seen: Record<string, object> = {};
    const wanted: Record<string, object> = {};
    for (const [name, send, expected] of cases) {
      const answer = await send();
      seen[name] = {
        status: answer.status,
        body: JSON.parse(answer.body),
        cookie: answer.headers["set-cookie"] ?? null,
      };
      wanted[name] = { ...expected, cookie: null };
    }
    expect(seen).toEqual(wanted);
    expect(JSON.stringify(seen)).not.toContain(tokens.refresh_token);
    // None of it spent or revoked the genuine token.
    await rotated(tokens.refresh_token);
  });

  it("refuses other content types with 415 and bodies over 16 KiB with 413, whatever their framing", async () => {
    const { username } = await newUser();
    const tokens = await native(username);
    const fields = { grant_type: "refresh_token", refresh_token: tokens.refresh_token, client_id: "native" };
    const post = (headers: Record<string, string>, body: string | Buffer) =>
      rawRequest(target.url, { method: "POST", path: "/oauth/token", headers, body });
    const unsupported = invalidRequest(415);
    const cases: [string, Promise<{ status: number; body: string }>, object][] = [
      ["JSON", post({ "content-type": "application/json" }, JSON.stringify(fields)), unsupported],
      [
        "text/plain, as a cross-site form can send",
        post({ "content-type": "text/plain" }, new URLSearchParams(fields).toString()),
        unsupported,
      ],
      [
        "multipart/form-data",
        post(
          { "content-type": "multipart/form-data; boundary=x" },
          `--x\r\nContent-Disposition: form-data; name="grant_type"\r\n\r\nrefresh_token\r\n--x--\r\n`,
        ),
        unsupported,
      ],
      [
        "a look-alike media type",
        post(
          { "content-type": "application/x-www-form-urlencoded-evil" },
          new URLSearchParams(fields).toString(),
        ),
        unsupported,
      ],
      ["a body without a content type", post({ "content-length": "12" }, "grant_type=x"), unsupported],
      [
        "a 17 KiB form",
        post({ "content-type": FORM }, `grant_type=refresh_token&x=${"a".repeat(17 * 1024)}`),
        invalidRequest(413),
      ],
      ["a 1 MiB form", post({ "content-type": FORM }, Buffer.alloc(1024 * 1024, 0x61)), invalidRequest(413)],
      [
        "a 17 KiB form sent in chunks, without a length",
        post({ "content-type": FORM, "transfer-encoding": "chunked" }, `x=${"a".repeat(17 * 1024)}`),
        invalidRequest(413),
      ],
      [
        "a length that says more than is sent",
        post({ "content-type": FORM, "content-length": String(1024 * 1024) }, "grant_type=x"),
        invalidRequest(413),
      ],
    ];
    const seen: Record<string, object> = {};
    const wanted: Record<string, object> = {};
    for (const [name, sent, expected] of cases) {
      const answer = await sent;
      seen[name] = { status: answer.status, body: answer.body ? JSON.parse(answer.body) : null };
      wanted[name] = expected;
    }
    expect(seen).toEqual(wanted);
    await rotated(tokens.refresh_token);
    expect((await fetch(`${target.url}/healthz`)).status).toBe(200);
  });
});

describe("sign-in", () => {
  let target: Target;
  beforeAll(async () => {
    target = await startTarget();
    await createAccount(target, "alice", PASSWORD);
  }, 60_000);
  afterAll(() => target?.stop());

  const login = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${target.url}/login`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    });

  it("refuses a sign-in posted with a foreign Origin (login CSRF), before checking the password", async () => {
    const answer = await login({ username: "alice", password: PASSWORD }, { origin: "https://evil.example" });
    expect(await oauthError(answer)).toEqual({
      status: 403,
      body: { error: "forbidden_origin", error_description: expect.any(String) },
    });
    expect(refreshCookieOf(answer)).toBeUndefined();
  });

  it("answers a wrong password and an unknown user alike: 401 invalid_credentials, word for word", async () => {
    const wrong = await oauthError(await login({ username: "alice", password: "not her passphrase" }));
    const unknown = await oauthError(
      await login({ username: "nobody-here", password: "not her passphrase" }),
    );
    expect(wrong).toEqual({
      status: 401,
      body: { error: "invalid_credentials", error_description: expect.any(String) },
    });
    expect(unknown).toEqual(wrong);
  });
});

describe("guessing at the token endpoint", () => {
  let target: Target;
  beforeAll(async () => {
    // Ten failed grants per address and minute, so a test can spend the budget.
    target = await startTarget({ rateLimits: { refresh: { max: 10, windowSeconds: 60 } } });
  }, 60_000);
  afterAll(() => target?.stop());

  it("stops an address guessing refresh tokens and handoff codes, never a genuine credential from it", async () => {
    await createAccount(target, "alice", PASSWORD);
    const alice = (await signIn(target, {
      username: "alice",
      password: PASSWORD,
      client_id: "native",
    })) as SignedIn & {
      refresh_token: string;
    };
    const code = async () => {
      const created = await target.admin("POST", "/sessions", { user_id: "user-42", client_id: "web" });
      expect(created.status).toBe(200);
      return ((await created.json()) as { handoff_code: string }).handoff_code;
    };
    const genuineCode = await code();
    const redeem = (value: string) =>
      tokenRequest(target, { grant_type: HANDOFF, code: value, client_id: "web" }, { "prolong-csrf": "1" });

    // Well-formed guesses: a refresh token of the right length, and one naming alice's
    // real session (its id is in every access token) under a made-up tag.
    const random = () => randomBytes(68).toString("base64url");
    const sessionBytes = Buffer.from(alice.session_id, "base64url");
    const namingAlice = () => Buffer.concat([sessionBytes, randomBytes(52)]).toString("base64url");
    const answers: number[] = [];
    for (let i = 0; i < 5; i++) answers.push((await refresh(target, random())).status);
    for (let i = 0; i < 3; i++) answers.push((await refresh(target, namingAlice())).status);
    for (let i = 0; i < 2; i++) answers.push((await redeem(randomBytes(32).toString("base64url"))).status);
    expect(answers).toEqual(Array(10).fill(400));

    // Past the budget: 429 with Retry-After, for every kind of guess.
    for (const guess of [
      () => refresh(target, random()),
      () => redeem(randomBytes(32).toString("base64url")),
    ]) {
      const limited = await guess();
      expect(limited.status).toBe(429);
      const retryAfter = Number(limited.headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(await limited.json()).toEqual({ error: "rate_limited", error_description: expect.any(String) });
    }

    // Genuine credentials from the same address still work: a refresh token, a handoff
    // code, a password; the guesses that named alice's session did not spend its budget.
    const renewed = await refresh(target, alice.refresh_token);
    expect(renewed.status).toBe(200);
    const redeemed = await redeem(genuineCode);
    expect(redeemed.status).toBe(200);
    expect(refreshCookieOf(redeemed)).toEqual(expect.any(String));
    await signIn(target, { username: "alice", password: PASSWORD, client_id: "native" });
    // And the admin API, on the same address, is not the token endpoint's budget either.
    expect(
      (await fetch(`${target.url}/admin/subjects`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }))
        .status,
    ).toBe(200);
  });
});

import type { FastifyInstance } from "fastify";
import { describe, expect, it } from "vitest";
import {
  ADMIN_TOKEN,
  bearer,
  claimsOf,
  postToken,
  type RequestExtra,
  refreshCookieOf,
  refreshWeb,
  testApp,
} from "./fixtures.js";

const admin = bearer(ADMIN_TOKEN);
const HANDOFF = "urn:prolong:grant-type:handoff";

/** What a backend does for a user it signed in itself: asks the admin API for a session. */
async function createHandoff(app: FastifyInstance, payload: Record<string, unknown>) {
  return app.inject({ method: "POST", url: "/admin/sessions", headers: admin, payload });
}

/** What the browser does with the code: redeems it at the token endpoint, with the anti-CSRF header. */
function redeem(app: FastifyInstance, code: string, clientId = "web", extra: RequestExtra = {}) {
  return postToken(
    app,
    { grant_type: HANDOFF, code, client_id: clientId },
    { ...extra, headers: { "prolong-csrf": "1", ...extra.headers } },
  );
}

describe("handoff of a web session from a backend to a browser", () => {
  it("gives the backend a one-time code and no token; the browser's redemption sets the cookie", async () => {
    const { app } = await testApp();
    const created = await createHandoff(app, { user_id: "user-42", device_name: "Maryo's laptop" });
    expect(created.statusCode).toBe(200);
    expect(created.headers["cache-control"]).toBe("private, no-store");
    expect(created.headers["set-cookie"]).toBeUndefined();
    const body = created.json();
    expect(Object.keys(body).sort()).toEqual(["expires_in", "handoff_code"]);
    expect(body.expires_in).toBe(60);

    const redeemed = await redeem(app, body.handoff_code);
    expect(redeemed.statusCode).toBe(200);
    expect(redeemed.headers["cache-control"]).toBe("private, no-store");
    const tokens = redeemed.json();
    expect(tokens.refresh_token).toBeUndefined();
    expect(claimsOf(tokens.access_token)).toMatchObject({ sub: "user-42", client_id: "web" });
    const cookie = String(redeemed.headers["set-cookie"]);
    expect(cookie).toMatch(
      /^__Secure-prolong-rt=[A-Za-z0-9_-]{91}; Path=\/oauth; Max-Age=\d+; HttpOnly; Secure; SameSite=Strict$/,
    );

    // The browser stays signed in: its cookie refreshes.
    const refreshed = await refreshWeb(app, refreshCookieOf(redeemed) as string);
    expect(refreshed.statusCode).toBe(200);
    expect(claimsOf(refreshed.json().access_token).sub).toBe("user-42");

    const sessions = await app.inject({
      method: "GET",
      url: "/admin/subjects/user-42/sessions",
      headers: admin,
    });
    expect(sessions.json().sessions).toEqual([expect.objectContaining({ device_name: "Maryo's laptop" })]);
  });

  it("refuses a replayed code, and sets no cookie then", async () => {
    const { app } = await testApp();
    const { handoff_code: code } = (await createHandoff(app, { user_id: "user-42" })).json();
    expect((await redeem(app, code)).statusCode).toBe(200);
    const replay = await redeem(app, code);
    expect(replay.statusCode).toBe(400);
    expect(replay.json()).toMatchObject({ error: "invalid_grant", prolong_error: "invalid_grant" });
    expect(replay.headers["set-cookie"]).toBeUndefined();
  });

  it("refuses a code redeemed late: it expires within a minute", async () => {
    const { app, clock } = await testApp();
    const { handoff_code: code } = (await createHandoff(app, { user_id: "user-42" })).json();
    clock.advance(60);
    expect((await redeem(app, code)).json()).toMatchObject({ error: "invalid_grant" });
  });

  it("binds the code to its client", async () => {
    const { app } = await testApp({ clients: { spa: { profile: "web" } } });
    const { handoff_code: code } = (
      await createHandoff(app, { user_id: "user-42", client_id: "spa" })
    ).json();
    expect((await redeem(app, code, "web")).json()).toMatchObject({ error: "invalid_grant" });
    const next = (await createHandoff(app, { user_id: "user-42", client_id: "spa" })).json();
    const redeemed = await redeem(app, next.handoff_code, "spa");
    expect(claimsOf(redeemed.json().access_token).client_id).toBe("spa");
  });

  it("needs the anti-CSRF header and an allowed Origin, and a refused attempt leaves the code usable", async () => {
    const { app } = await testApp();
    const { handoff_code: code } = (await createHandoff(app, { user_id: "user-42" })).json();
    const bare = await postToken(app, { grant_type: HANDOFF, code, client_id: "web" });
    expect(bare.statusCode).toBe(403);
    const foreign = await redeem(app, code, "web", { headers: { origin: "https://evil.example" } });
    expect(foreign.statusCode).toBe(403);
    const ours = await redeem(app, code, "web", { headers: { origin: "https://auth.example.test" } });
    expect(ours.statusCode).toBe(200);
  });

  it("names what is missing, and counts failed codes against the address", async () => {
    const { app } = await testApp({ rateLimits: { failedGrants: { max: 2, windowSeconds: 60 } } });
    const noCode = await postToken(
      app,
      { grant_type: HANDOFF, client_id: "web" },
      { headers: { "prolong-csrf": "1" } },
    );
    expect(noCode.json()).toMatchObject({ error: "invalid_request", error_description: "code is required" });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await redeem(app, "A".repeat(43), "web")).statusCode);
    expect(statuses).toEqual([400, 400, 429]);
  });

  it("refuses a genuine code whose user was disabled since, without counting it against the address", async () => {
    const { app } = await testApp({ rateLimits: { failedGrants: { max: 1, windowSeconds: 60 } } });
    const codes = [];
    for (let i = 0; i < 3; i++)
      codes.push((await createHandoff(app, { user_id: "user-42" })).json().handoff_code);
    await app.inject({ method: "POST", url: "/admin/subjects/user-42/disable", headers: admin });
    for (const code of codes) {
      const refused = await redeem(app, code);
      expect(refused.statusCode).toBe(400);
      expect(refused.json()).toMatchObject({ error: "invalid_grant", prolong_error: "user_disabled" });
    }
    expect((await redeem(app, "A".repeat(43))).statusCode).toBe(400);
    expect((await redeem(app, "B".repeat(43))).statusCode).toBe(429);
  });

  it("keeps giving native clients their tokens in the body", async () => {
    const { app } = await testApp();
    const created = await createHandoff(app, { user_id: "user-42", client_id: "native" });
    expect(created.json()).toMatchObject({ token_type: "Bearer", refresh_token: expect.any(String) });
    expect(created.json().handoff_code).toBeUndefined();
  });

  it("validates the user id, naming user_id", async () => {
    const { app } = await testApp();
    for (const [user_id, problem] of [
      [" user-42", "user_id: must not start or end with whitespace"],
      ["", "user_id: must not be empty"],
      ["a".repeat(256), "user_id: at most 255 characters"],
      ["a\u0000b", "user_id: must not contain control characters or lone surrogates"],
    ]) {
      const response = await createHandoff(app, { user_id });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toEqual({ error: "invalid_request", error_description: problem });
    }
  });

  it("lists the grant in the metadata", async () => {
    const { app } = await testApp();
    const metadata = await app.inject({ method: "GET", url: "/.well-known/oauth-authorization-server" });
    expect(metadata.json().grant_types_supported).toContain(HANDOFF);
  });
});

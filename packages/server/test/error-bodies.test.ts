import { ERROR_STATUS, type ErrorCode } from "@prolong/protocol";
import type { InjectOptions } from "fastify";
import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, bearer, form, login, PASSWORD, testApp } from "./fixtures.js";

/**
 * docs/protocol.md, "Errors": every JSON error answer has one shape, RFC 6749 §5.2's
 * `{error, error_description}` (plus `prolong_error` at the token endpoint), and the
 * status of its code, wherever it comes from: the engine, a route, the body parser, the
 * router, the admin guard.
 */
describe("error bodies", () => {
  const ownEndpoints: [string, InjectOptions, ErrorCode][] = [
    ["an unknown route", { method: "GET", url: "/nowhere" }, "not_found"],
    ["a bearer route without a token", { method: "GET", url: "/sessions" }, "unauthorized"],
    [
      "a bearer route with a bad token",
      { method: "GET", url: "/sessions", headers: bearer("x.y.z") },
      "invalid_token",
    ],
    ["a token in the query string", { method: "GET", url: "/sessions?access_token=abc" }, "invalid_request"],
    [
      "a wrong password at sign-in",
      { method: "POST", url: "/login", payload: { username: "maryo", password: "wrong" } },
      "invalid_credentials",
    ],
    [
      "a sign-in from a foreign origin",
      {
        method: "POST",
        url: "/login",
        headers: { origin: "https://evil.example" },
        payload: { username: "maryo", password: PASSWORD },
      },
      "forbidden_origin",
    ],
    [
      "a body that fits no schema",
      { method: "POST", url: "/login", payload: { user: "maryo" } },
      "invalid_request",
    ],
    [
      "a body of the wrong media type",
      { method: "POST", url: "/login", headers: { "content-type": "text/plain" }, payload: "maryo" },
      "unsupported_media_type",
    ],
    ["the admin API without its token", { method: "GET", url: "/admin/subjects" }, "unauthorized"],
    [
      "an unknown subject at the admin API",
      { method: "GET", url: "/admin/subjects/nobody", headers: bearer(ADMIN_TOKEN) },
      "not_found",
    ],
    ["the revocation feed without credentials", { method: "GET", url: "/revocations/feed" }, "unauthorized"],
    [
      "a token of characters outside base64url (a malformed token, RFC 6750 §3.1)",
      { method: "GET", url: "/sessions", headers: bearer("e30=.e30.AAAA") },
      "invalid_token",
    ],
    [
      "another authentication scheme at a bearer route (RFC 6750 §3.1: no bearer credentials)",
      { method: "GET", url: "/sessions", headers: { authorization: "Basic bWFyeW86cGFzc3dvcmQ=" } },
      "unauthorized",
    ],
    [
      "a path that is not valid percent-encoding",
      { method: "GET", url: "/admin/subjects/%E0%A4", headers: bearer(ADMIN_TOKEN) },
      "invalid_request",
    ],
  ];

  it.each(ownEndpoints)("%s: {error, error_description} with the code's status", async (_, request, code) => {
    const { app } = await testApp();
    const response = await app.inject(request);
    expect(response.json()).toEqual({ error: code, error_description: expect.any(String) });
    expect(response.statusCode).toBe(ERROR_STATUS[code]);
  });

  it("a wrong current password: the same shape, 403 so that clients keep their access token", async () => {
    const { app } = await testApp();
    const { body } = await login(app);
    const response = await app.inject({
      method: "POST",
      url: "/password",
      headers: bearer(body.access_token as string),
      payload: { current_password: "wrong", new_password: "a brand new passphrase" },
    });
    expect(response.statusCode).toBe(403);
    expect(response.json()).toEqual({ error: "invalid_credentials", error_description: expect.any(String) });
  });

  it("the token endpoint: the same shape, the finer code in prolong_error", async () => {
    const { app } = await testApp();
    const grant = await app.inject({
      method: "POST",
      url: "/oauth/token",
      ...form({ grant_type: "refresh_token", refresh_token: "not-a-token", client_id: "native" }),
    });
    expect(grant.statusCode).toBe(400);
    expect(grant.json()).toEqual({
      error: "invalid_grant",
      error_description: expect.any(String),
      prolong_error: "invalid_grant",
    });
    const missing = await app.inject({ method: "POST", url: "/oauth/token", ...form({}) });
    expect(missing.json()).toEqual({ error: "invalid_request", error_description: expect.any(String) });
  });

  it("a path segment longer than any id: 414, the same shape, the path not echoed", async () => {
    const { app } = await testApp();
    const segment = "a".repeat(3061);
    const response = await app.inject({
      method: "DELETE",
      url: `/sessions/${segment}`,
      headers: bearer("x"),
    });
    expect(response.statusCode).toBe(414);
    expect(response.json()).toEqual({ error: "invalid_request", error_description: expect.any(String) });
    expect(response.body).not.toContain(segment.slice(0, 20));
  });

  it("reaches a subject whose id is 255 code points of four UTF-8 bytes each (docs/protocol.md, Subjects)", async () => {
    const { app } = await testApp();
    const id = "\u{1F600}".repeat(255);
    const started = await app.inject({
      method: "POST",
      url: "/admin/sessions",
      headers: bearer(ADMIN_TOKEN),
      payload: { user_id: id, client_id: "native" },
    });
    expect(started.statusCode).toBe(200);
    const found = await app.inject({
      method: "GET",
      url: `/admin/subjects/${encodeURIComponent(id)}`,
      headers: bearer(ADMIN_TOKEN),
    });
    expect(found.statusCode).toBe(200);
    expect(found.json().id).toBe(id);
  });
});

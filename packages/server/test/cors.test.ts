import { resolveConfig } from "@prolong/server";
import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, bearer, ISSUER, login, RESOURCE_SECRET, testApp } from "./fixtures.js";

const APP = "https://app.example.test";
const EVIL = "https://evil.example.test";

/** A browser's preflight for `method` on `url` from `origin`. */
const preflight = (origin: string, url: string, method: string) => ({
  method: "OPTIONS" as const,
  url,
  headers: {
    origin,
    "access-control-request-method": method,
    "access-control-request-headers": "content-type,prolong-csrf",
  },
});

describe("CORS for browser apps on other origins (docs/protocol.md)", () => {
  it("answers the preflight of each browser-facing endpoint for a configured origin", async () => {
    const { app } = await testApp({ allowedOrigins: [APP] });
    for (const [url, method] of [
      ["/login", "POST"],
      ["/oauth/token", "POST"],
      ["/oauth/revoke", "POST"],
      ["/logout", "POST"],
      ["/sessions", "GET"],
      ["/sessions/abc", "PATCH"],
      ["/password", "POST"],
    ] as const) {
      const response = await app.inject(preflight(APP, url, method));
      expect(response.statusCode, url).toBe(204);
      expect(response.headers["access-control-allow-origin"], url).toBe(APP);
      expect(response.headers["access-control-allow-credentials"], url).toBe("true");
      expect(response.headers["access-control-allow-methods"], url).toContain(method);
      expect(response.headers["access-control-allow-headers"], url).toBe(
        "content-type, authorization, prolong-csrf, dpop",
      );
      expect(Number(response.headers["access-control-max-age"]), url).toBeGreaterThan(0);
      expect(response.headers.vary, url).toContain("Origin");
    }
    const sessions = await app.inject(preflight(APP, "/sessions/abc", "DELETE"));
    expect(sessions.headers["access-control-allow-methods"]).toBe("PATCH, DELETE, OPTIONS");
  });

  it("lets a configured origin read the metadata document, where the client SDK starts", async () => {
    const { app } = await testApp({ allowedOrigins: [APP] });
    const allowed = await app.inject({
      method: "GET",
      url: "/.well-known/oauth-authorization-server",
      headers: { origin: APP },
    });
    expect(allowed.statusCode).toBe(200);
    expect(allowed.headers["access-control-allow-origin"]).toBe(APP);
    const refused = await app.inject({
      method: "GET",
      url: "/.well-known/oauth-authorization-server",
      headers: { origin: EVIL },
    });
    expect(refused.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("sends the origin and credentials headers on answers, errors included, to a configured origin", async () => {
    const { app } = await testApp({ allowedOrigins: [APP] });
    const signIn = await login(app, {});
    const signedIn = await app.inject({
      method: "POST",
      url: "/login",
      headers: { origin: APP },
      payload: { username: "maryo", password: "correct horse battery" },
    });
    expect(signedIn.statusCode).toBe(200);
    expect(signedIn.headers["access-control-allow-origin"]).toBe(APP);
    expect(signedIn.headers["access-control-allow-credentials"]).toBe("true");
    expect(signedIn.headers["access-control-expose-headers"]).toContain("retry-after");
    // RFC 9449 §8.1: a page's client reads the server's DPoP nonce.
    expect(signedIn.headers["access-control-expose-headers"]).toContain("dpop-nonce");
    expect(signedIn.headers.vary).toContain("Origin");

    const refused = await app.inject({
      method: "GET",
      url: "/sessions",
      headers: { origin: APP, ...bearer("not-a-token") },
    });
    expect(refused.statusCode).toBe(401);
    expect(refused.headers["access-control-allow-origin"]).toBe(APP);
    const listed = await app.inject({
      method: "GET",
      url: "/sessions",
      headers: { origin: APP, ...bearer(signIn.body.access_token as string) },
    });
    expect(listed.statusCode).toBe(200);
    expect(listed.headers["access-control-allow-origin"]).toBe(APP);
  });

  it("sends nothing to an origin that is not configured, and never *", async () => {
    const { app } = await testApp({ allowedOrigins: [APP] });
    for (const origin of [EVIL, "null", `${APP}.evil.test`, "http://app.example.test"]) {
      const pre = await app.inject(preflight(origin, "/login", "POST"));
      expect(pre.headers["access-control-allow-origin"], origin).toBeUndefined();
      expect(pre.headers["access-control-allow-credentials"], origin).toBeUndefined();
      expect(pre.headers["access-control-allow-methods"], origin).toBeUndefined();
      const answer = await app.inject({
        method: "POST",
        url: "/oauth/revoke",
        headers: { origin, "content-type": "application/x-www-form-urlencoded" },
        payload: "token=x",
      });
      expect(answer.headers["access-control-allow-origin"], origin).toBeUndefined();
    }
  });

  it("sends nothing when no origin is configured, not even for the issuer's own", async () => {
    const { app } = await testApp();
    const pre = await app.inject(preflight(ISSUER, "/login", "POST"));
    expect(pre.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("matches origins after normalisation of the configured value", async () => {
    const { app } = await testApp({ allowedOrigins: ["HTTPS://App.Example.Test:443/"] });
    const pre = await app.inject(preflight(APP, "/oauth/token", "POST"));
    expect(pre.headers["access-control-allow-origin"]).toBe(APP);
  });

  it("gives no CORS to the admin API, the feed, introspection and metrics", async () => {
    const { app } = await testApp({ allowedOrigins: [APP] });
    for (const url of ["/admin/subjects", "/revocations/feed", "/oauth/introspect", "/metrics", "/healthz"]) {
      expect((await app.inject(preflight(APP, url, "GET"))).statusCode, url).toBe(404);
    }
    const admin = await app.inject({
      method: "GET",
      url: "/admin/subjects",
      headers: { origin: APP, ...bearer(ADMIN_TOKEN) },
    });
    expect(admin.statusCode).toBe(200);
    expect(admin.headers["access-control-allow-origin"]).toBeUndefined();
    const introspect = await app.inject({
      method: "POST",
      url: "/oauth/introspect",
      headers: {
        origin: APP,
        ...bearer(RESOURCE_SECRET),
        "content-type": "application/x-www-form-urlencoded",
      },
      payload: "token=x",
    });
    expect(introspect.statusCode).toBe(200);
    expect(introspect.headers["access-control-allow-origin"]).toBeUndefined();
    const metrics = await app.inject({ method: "GET", url: "/metrics", headers: { origin: APP } });
    expect(metrics.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("refuses a configured origin that is a pattern or has a path, naming it", () => {
    for (const value of ["*", "https://app.example.test/app", "ftp://app.example.test"]) {
      expect(() => resolveConfig({ issuer: ISSUER, allowedOrigins: [APP, value] }), value).toThrow(
        /allowedOrigins\.1/,
      );
    }
  });
});

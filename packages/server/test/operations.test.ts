import { openApiDocument, resolveConfig, routesOf } from "@prolong/server";
import { describe, expect, it } from "vitest";
import {
  bearer,
  form,
  ISSUER,
  login,
  PASSWORD,
  RESOURCE_SECRET,
  refreshCookieOf,
  refreshNative,
  refreshWeb,
  testApp,
} from "./fixtures.js";

describe("discovery", () => {
  it("publishes RFC 8414 metadata from the configured issuer, whatever the Host header says", async () => {
    const { app } = await testApp();
    const response = await app.inject({
      method: "GET",
      url: "/.well-known/oauth-authorization-server",
      headers: { host: "evil.example", "x-forwarded-host": "evil.example" },
    });
    const metadata = response.json();
    expect(metadata.issuer).toBe(ISSUER);
    expect(JSON.stringify(metadata)).not.toContain("evil");
    expect(metadata).toMatchObject({
      token_endpoint: `${ISSUER}/oauth/token`,
      revocation_endpoint: `${ISSUER}/oauth/revoke`,
      introspection_endpoint: `${ISSUER}/oauth/introspect`,
      jwks_uri: `${ISSUER}/.well-known/jwks.json`,
      login_endpoint: `${ISSUER}/login`,
      sessions_endpoint: `${ISSUER}/sessions`,
      revocation_feed_endpoint: `${ISSUER}/revocations/feed`,
    });
    expect(metadata.grant_types_supported).toContain("refresh_token");
  });

  it("publishes public keys only, the next key included, cacheable for the configured max-age", async () => {
    const { app, engine } = await testApp();
    const response = await app.inject({ method: "GET", url: "/.well-known/jwks.json" });
    expect(response.headers["cache-control"]).toBe("public, max-age=300, must-revalidate");
    const { keys } = response.json();
    expect(keys.map((k: { kid: string }) => k.kid)).toEqual([engine.keys.active.kid, engine.keys.next?.kid]);
    for (const key of keys) {
      expect(key).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA", use: "sig" });
      expect(key).not.toHaveProperty("d");
    }
    const short = await testApp({ jwksMaxAge: 30 });
    const shortResponse = await short.app.inject({ method: "GET", url: "/.well-known/jwks.json" });
    expect(shortResponse.headers["cache-control"]).toBe("public, max-age=30, must-revalidate");
  });

  it.each([0, 86_401, 1.5, "300"])("refuses jwksMaxAge %j, naming it", (jwksMaxAge) => {
    expect(() => resolveConfig({ jwksMaxAge })).toThrow(/jwksMaxAge/);
  });

  it.each([
    { demo: false, demoPage: false },
    { demo: true, demoPage: false },
    { demo: true, demoPage: true },
  ])("serves an OpenAPI document listing exactly the routes served (%j)", async ({ demo, demoPage }) => {
    const { app } = await testApp({ demo }, demoPage ? { publicDir: "/nonexistent" } : {});
    const document = (await app.inject({ method: "GET", url: "/openapi.json" })).json();
    expect(document).toEqual(JSON.parse(JSON.stringify(openApiDocument(ISSUER, { demo, demoPage }))));
    const documented = Object.entries(document.paths as Record<string, object>)
      .flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    const served = routesOf(app)
      .map((r) => `${r.method} ${r.url.replace(/:(\w+)/g, "{$1}")}`)
      .sort();
    expect(documented).toEqual(served);
  });
});

describe("operations", () => {
  it("reports liveness and store readiness", async () => {
    const { app, store } = await testApp();
    expect((await app.inject({ method: "GET", url: "/healthz" })).json()).toEqual({
      status: "ok",
      store: "ok",
    });
    store.ping = async () => {
      throw new Error("database is gone");
    };
    const down = await app.inject({ method: "GET", url: "/healthz" });
    expect(down.statusCode).toBe(503);
  });

  it("counts refreshes, reuse detections, revocations and request latency", async () => {
    const { app, clock } = await testApp();
    const { body } = await login(app, { client_id: "native" });
    const refresh = (token: string) => refreshNative(app, token);
    await refresh(body.refresh_token as string);
    clock.advance(31);
    await refresh(body.refresh_token as string);
    const metrics = (await app.inject({ method: "GET", url: "/metrics" })).body;
    expect(metrics).toContain('prolong_refreshes_total{outcome="rotated"} 1');
    expect(metrics).toContain("prolong_reuse_detections_total 1");
    expect(metrics).toContain('prolong_revocations_total{reason="reuse"} 1');
    expect(metrics).toMatch(
      /prolong_http_request_duration_seconds_count\{method="POST",route="\/oauth\/token",status="200"\} 1/,
    );
  });

  it("labels request latency by route template, and requests no route matched as unknown", async () => {
    const { app } = await testApp();
    const { body } = await login(app);
    const token = body.access_token as string;
    await app.inject({ method: "DELETE", url: "/sessions/no-such-session", headers: bearer(token) });
    await app.inject({ method: "GET", url: "/no/such/route?access_token=x" });
    await app.inject({ method: "GET", url: "/no/such/route" });
    const metrics = (await app.inject({ method: "GET", url: "/metrics" })).body;
    const count = (labels: string) =>
      metrics.match(new RegExp(`prolong_http_request_duration_seconds_count\\{${labels}\\} (\\d+)`))?.[1];
    expect(count('method="POST",route="/login",status="200"')).toBe("1");
    expect(count('method="DELETE",route="/sessions/:id",status="404"')).toBe("1");
    expect(count('method="GET",route="unknown",status="404"')).toBe("2");
    // Label values come from route templates only: a raw path or query never becomes one.
    expect(metrics).not.toContain("no-such-session");
    expect(metrics).not.toContain("/no/such/route");
  });

  it("never writes a token, password or secret into its logs", async () => {
    // At debug, so the per-request lines (with their URLs) are among those checked.
    const { app, logs } = await testApp({ logLevel: "debug" });
    const { response, body } = await login(app);
    const cookie = refreshCookieOf(response) as string;
    await refreshWeb(app, cookie);
    await app.inject({ method: "GET", url: `/sessions?access_token=${body.access_token}` });
    await app.inject({ method: "GET", url: "/sessions", headers: bearer(body.access_token as string) });
    await app.inject({
      method: "POST",
      url: "/oauth/introspect",
      headers: { ...form({}).headers, authorization: `Bearer ${RESOURCE_SECRET}` },
      payload: `token=${body.access_token}`,
    });
    await app.inject({
      method: "POST",
      url: "/login",
      payload: { username: "maryo", password: "wrong password" },
    });
    const text = logs.join("\n");
    expect(logs.length).toBeGreaterThan(5);
    for (const secret of [body.access_token, cookie, PASSWORD, "wrong password", RESOURCE_SECRET]) {
      expect(text).not.toContain(secret as string);
    }
  });

  it("logs each request at debug, and at info only what went wrong", async () => {
    type Line = { msg?: string; level?: number; req?: { url?: string }; res?: { statusCode?: number } };
    const perRequest = (lines: Line[]) =>
      lines.filter((line) => line.msg === "incoming request" || line.msg === "request completed");

    const quiet = await testApp();
    const signedIn = (await login(quiet.app, { client_id: "native" })).body;
    expect((await refreshNative(quiet.app, signedIn.refresh_token as string)).statusCode).toBe(200);
    expect(perRequest(quiet.logs.map((line) => JSON.parse(line) as Line))).toEqual([]);
    // A failure of ours still reaches the info log.
    quiet.store.sessions.rotate = async () => {
      throw new Error("the disk is on fire");
    };
    expect((await refreshNative(quiet.app, signedIn.refresh_token as string)).statusCode).toBe(500);
    const failed = quiet.logs.map((line) => JSON.parse(line) as Line).filter((line) => line.level === 50);
    expect(failed.map((line) => line.msg)).toEqual(["request failed"]);

    const verbose = await testApp({ logLevel: "debug" });
    const body = (await login(verbose.app, { client_id: "native" })).body;
    expect((await refreshNative(verbose.app, body.refresh_token as string)).statusCode).toBe(200);
    const lines = perRequest(verbose.logs.map((line) => JSON.parse(line) as Line));
    expect(lines.map((line) => [line.msg, line.level, line.req?.url ?? line.res?.statusCode])).toEqual([
      ["incoming request", 20, "/login"],
      ["request completed", 20, 200],
      ["incoming request", 20, "/oauth/token"],
      ["request completed", 20, 200],
    ]);
  });

  it("logs and counts a security-event write that fails, and still answers the request", async () => {
    const { app, store, logs } = await testApp();
    store.audit.record = async () => {
      throw new Error("audit log is full");
    };
    const wrong = await app.inject({
      method: "POST",
      url: "/login",
      payload: { username: "maryo", password: "wrong password" },
    });
    expect(wrong.statusCode).toBe(401);
    const { response } = await login(app);
    expect(response.statusCode).toBe(200);
    const failures = logs
      .map((line) => JSON.parse(line) as { msg?: string; event?: string; level?: number })
      .filter((line) => line.msg === "engine event listener failed");
    expect(failures.map((line) => [line.event, line.level])).toEqual([
      ["sign_in_failed", 50],
      ["signed_in", 50],
    ]);
    const metrics = (await app.inject({ method: "GET", url: "/metrics" })).body;
    expect(metrics).toContain('prolong_event_listener_failures_total{event="sign_in_failed"} 1');
    expect(metrics).toContain('prolong_event_listener_failures_total{event="signed_in"} 1');
  });

  it("answers unknown routes with the JSON error shape", async () => {
    const { app } = await testApp();
    const response = await app.inject({ method: "GET", url: "/nope" });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ error: "not_found" });
  });
});

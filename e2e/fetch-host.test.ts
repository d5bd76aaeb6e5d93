import type { Server } from "node:http";
import { serve } from "@hono/node-server";
import { getConnInfo } from "@hono/node-server/conninfo";
import { createProlong, type Prolong } from "@prolong/server";
import { type Context, Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventStream } from "./event-stream.js";
import { freePort } from "./server-process.js";

const PASSWORD = "the host's own password";
const RESOURCE_SECRET = "a-resource-secret-for-the-fetch-host";
/** The web app's origin, another port on loopback: its requests to prolong are cross-origin. */
const SPA = "http://127.0.0.1:1";

let prolong: Prolong;
let server: Server;
let base: string;
let issuer: string;
/** The errors Hono's `onError` saw: a wrong mount is reported to the host, as Express's next(error). */
const hostErrors: unknown[] = [];

/** prolong's Fetch handler for a Hono route, with the peer address Node's socket has. */
const toProlong = (c: Context) =>
  prolong.fetch(c.req.raw, { clientAddress: getConnInfo(c).remote.address ?? null });

/** A Hono application with its own login and prolong's routes under `/auth`, on a real port. */
beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  issuer = `http://localhost:${port}/auth`;
  prolong = await createProlong(
    { issuer, store: "memory:", allowedOrigins: [SPA], resourceSecret: RESOURCE_SECRET },
    { engine: { passwordCost: { N: 1024, r: 8, p: 1 } }, logStream: { write: () => {} } },
  );
  await prolong.engine.createAccount({ username: "maryo", password: PASSWORD });

  const app = new Hono();
  app.get("/hello", (c) => c.text("hello from the host"));
  // The host's own login: it checks the user itself, then hands the session to prolong.
  app.post("/my-login", async (c) => {
    const form = await c.req.json<{ user: string; password: string; client?: string }>();
    if (form.password !== PASSWORD) return c.json({ error: "wrong password" }, 401);
    const { body, headers } = await prolong.startFetchSession(c.req.raw, {
      subject: form.user,
      ...(form.client ? { client: form.client } : {}),
      clientAddress: getConnInfo(c).remote.address ?? null,
    });
    const response = Response.json(body, { headers });
    response.headers.append("set-cookie", "host-session=1; HttpOnly");
    return response;
  });
  app.all("/auth/*", toProlong);
  // Mounted where the issuer's routes are not: every request there is the host's error.
  app.all("/login/*", toProlong);
  app.onError((error, c) => {
    hostErrors.push(error);
    return c.text("host error", 500);
  });
  server = await new Promise<Server>((resolve) => {
    const listening = serve({ fetch: app.fetch, port, hostname: "127.0.0.1" }, () =>
      resolve(listening as Server),
    );
  });
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await prolong?.close();
});

const setCookies = (response: Response) => response.headers.getSetCookie();
const refreshCookie = (response: Response) =>
  setCookies(response)
    .find((c) => c.startsWith("__Secure-prolong-rt="))
    ?.split(";")[0] as string;
const claimsOf = (token: string) =>
  JSON.parse(Buffer.from(token.split(".")[1] as string, "base64url").toString()) as Record<string, unknown>;

function post(path: string, body: string, type: string, headers: Record<string, string> = {}) {
  return fetch(`${base}${path}`, { method: "POST", headers: { "content-type": type, ...headers }, body });
}
const json = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  post(path, JSON.stringify(body), "application/json", headers);
const webRefresh = (cookie: string) =>
  post("/auth/oauth/token", "grant_type=refresh_token&client_id=web", "application/x-www-form-urlencoded", {
    cookie,
    "prolong-csrf": "1",
    origin: SPA,
  });

describe("prolong behind a Fetch-API host (Hono on Node)", () => {
  it("serves its metadata under the mount path, naming the issuer's URLs", async () => {
    const response = await fetch(`${base}/auth/.well-known/oauth-authorization-server`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ issuer, token_endpoint: `${issuer}/oauth/token` });
  });

  it("signs a cross-origin web app in and refreshes it: preflight, both cookies, the rotated cookie", async () => {
    const preflight = await fetch(`${base}/auth/login`, {
      method: "OPTIONS",
      headers: {
        origin: SPA,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,prolong-csrf",
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe(SPA);
    expect(preflight.headers.get("access-control-allow-credentials")).toBe("true");

    const signedIn = await json("/auth/login", { username: "maryo", password: PASSWORD }, { origin: SPA });
    expect(signedIn.status).toBe(200);
    expect(signedIn.headers.get("access-control-allow-origin")).toBe(SPA);
    expect(signedIn.headers.get("cache-control")).toBe("private, no-store");
    // Two Set-Cookie headers, each whole: the refresh cookie and the device cookie.
    const cookies = setCookies(signedIn);
    expect(cookies).toHaveLength(2);
    expect(cookies.find((c) => c.startsWith("__Secure-prolong-rt="))).toMatch(
      /; Path=\/auth\/oauth; Max-Age=\d+; HttpOnly; Secure; SameSite=Strict$/,
    );
    expect(cookies.some((c) => /; Path=\/auth\/login;/.test(c))).toBe(true);
    const body = (await signedIn.json()) as Record<string, string>;
    expect(body.refresh_token).toBeUndefined();

    const refreshed = await webRefresh(refreshCookie(signedIn));
    expect(refreshed.status).toBe(200);
    expect(refreshed.headers.get("access-control-allow-origin")).toBe(SPA);
    const tokens = (await refreshed.json()) as { access_token: string };
    expect(claimsOf(tokens.access_token)).toMatchObject({ iss: issuer, client_id: "web" });
    // The rotated cookie comes back through the handler, and refreshes in turn.
    expect(refreshCookie(refreshed)).not.toBe(refreshCookie(signedIn));
    expect((await webRefresh(refreshCookie(refreshed))).status).toBe(200);
  });

  it("signs a native app in and refreshes it, the tokens in the bodies", async () => {
    const signedIn = await json("/auth/login", {
      username: "maryo",
      password: PASSWORD,
      client_id: "native",
    });
    expect(signedIn.status).toBe(200);
    const body = (await signedIn.json()) as Record<string, string>;
    expect(body.refresh_token).toMatch(/^[A-Za-z0-9_-]{91}$/);
    expect(setCookies(signedIn).some((c) => c.startsWith("__Secure-prolong-rt="))).toBe(false);
    const refreshed = await post(
      "/auth/oauth/token",
      new URLSearchParams({
        grant_type: "refresh_token",
        client_id: "native",
        refresh_token: body.refresh_token as string,
      }).toString(),
      "application/x-www-form-urlencoded",
    );
    expect(refreshed.status).toBe(200);
    expect(((await refreshed.json()) as Record<string, string>).refresh_token).not.toBe(body.refresh_token);
  });

  it("starts a web session from the host's login: a Fetch Response with the host's cookie and prolong's", async () => {
    const signedIn = await json("/my-login", { user: "user-42", password: PASSWORD });
    expect(signedIn.status).toBe(200);
    expect(signedIn.headers.get("cache-control")).toBe("private, no-store");
    expect((await signedIn.json()) as Record<string, string>).not.toHaveProperty("refresh_token");
    const cookies = setCookies(signedIn);
    expect(cookies.some((c) => c.startsWith("host-session=1"))).toBe(true);
    expect(cookies.find((c) => c.startsWith("__Secure-prolong-rt="))).toMatch(/; Path=\/auth\/oauth;/);

    const refreshed = await webRefresh(refreshCookie(signedIn));
    expect(refreshed.status).toBe(200);
    const tokens = (await refreshed.json()) as { access_token: string };
    expect(claimsOf(tokens.access_token)).toMatchObject({ sub: "user-42", iss: issuer, client_id: "web" });

    // The session records the address the host passed on.
    const [session] = await prolong.engine.listSessions("user-42");
    expect(session?.ip).toBe("127.0.0.1");
  });

  it("starts a native session from the host's login: the tokens in the body, no cookie", async () => {
    const signedIn = await json("/my-login", { user: "user-43", password: PASSWORD, client: "native" });
    const body = (await signedIn.json()) as Record<string, string>;
    expect(body.refresh_token).toMatch(/^[A-Za-z0-9_-]{91}$/);
    expect(setCookies(signedIn)).toEqual(["host-session=1; HttpOnly"]);
  });

  it("points startSession, given a Fetch Response, to startFetchSession before starting anything", async () => {
    const before = (await prolong.engine.listSessions("user-45")).length;
    await expect(prolong.startSession(Response.json({}) as never, { subject: "user-45" })).rejects.toThrow(
      /^startSession: takes a Fastify reply or a Node response; for a Fetch Response use startFetchSession\(request, input\)/,
    );
    expect(await prolong.engine.listSessions("user-45")).toHaveLength(before);
  });

  it("streams the revocation feed through the handler, event by event", async () => {
    const abort = new AbortController();
    const feed = await fetch(`${base}/auth/revocations/feed`, {
      headers: { authorization: `Bearer ${RESOURCE_SECRET}` },
      signal: abort.signal,
    });
    expect(feed.status).toBe(200);
    expect(feed.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(feed.headers.get("x-accel-buffering")).toBe("no");
    const events = eventStream(feed.body as ReadableStream<Uint8Array>);
    await events.until(/event: snapshot\n/);

    // A session revoked while the feed is open arrives as its own event, the stream still open.
    const signedIn = await json("/my-login", { user: "user-44", password: PASSWORD, client: "native" });
    const { refresh_token } = (await signedIn.json()) as { refresh_token: string };
    const revoked = await post(
      "/auth/oauth/revoke",
      new URLSearchParams({ token: refresh_token, client_id: "native" }).toString(),
      "application/x-www-form-urlencoded",
    );
    expect(revoked.status).toBe(200);
    await events.until(/event: revoked\ndata: \{[^\n]*"sub":"user-44"/);
    abort.abort();
    await events.cancel();

    // The handler goes on serving after a subscriber left.
    expect((await fetch(`${base}/auth/.well-known/oauth-authorization-server`)).status).toBe(200);
  });

  it("refuses a request outside the issuer's path with invalid_config, reported to the host", async () => {
    const response = await fetch(`${base}/login/oauth/token`, { method: "POST" });
    expect(response.status).toBe(500);
    expect(hostErrors).toHaveLength(1);
    expect(hostErrors[0]).toMatchObject({
      code: "invalid_config",
      message:
        "prolong is mounted at a route given /login/oauth/token but its issuer's path is /auth: route /auth and the paths under it to prolong.fetch with the request's URL unchanged",
    });
  });

  it("leaves the host's routes alone and answers its own 404 under the mount path", async () => {
    expect(await (await fetch(`${base}/hello`)).text()).toBe("hello from the host");
    const missing = await fetch(`${base}/auth/nowhere`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({
      error: "not_found",
      error_description: "no route GET /auth/nowhere",
    });
  });
});

import type { Server } from "node:http";
import { createProlong, type Prolong } from "@prolong/server";
import express, { type NextFunction, type Request, type Response } from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "./server-process.js";

const PASSWORD = "the host's own password";

let prolong: Prolong;
let server: Server;
let base: string;
let issuer: string;

/**
 * An Express application with its own login and body parsers mounted globally, as most
 * are, and prolong's routes under `/auth`, listening on loopback.
 */
beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  issuer = `http://localhost:${port}/auth`;
  prolong = await createProlong(
    { issuer, store: "memory:" },
    { engine: { passwordCost: { N: 1024, r: 8, p: 1 } }, logStream: { write: () => {} } },
  );
  await prolong.engine.createAccount({ username: "maryo", password: PASSWORD });

  const app = express();
  app.use(express.json());
  app.use(express.urlencoded({ extended: false }));
  app.get("/hello", (_req, res) => {
    res.type("text/plain").send("hello from the host");
  });
  // The host's own login: it checks the user itself, then hands the session to prolong.
  app.post("/my-login", async (req, res, next) => {
    try {
      if (req.body.password !== PASSWORD) {
        res.status(401).json({ error: "wrong password" });
        return;
      }
      res.cookie("host-session", "1", { httpOnly: true });
      res.json(await prolong.startSession(res, { subject: req.body.user, client: req.body.client }));
    } catch (error) {
      next(error);
    }
  });
  app.use("/auth", prolong.expressHandler());
  server = await new Promise<Server>((resolve) => {
    const listening = app.listen(port, "127.0.0.1", () => resolve(listening));
  });
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await prolong?.close();
});

const setCookies = (response: globalThis.Response) => response.headers.getSetCookie();
const refreshCookie = (response: globalThis.Response) =>
  setCookies(response)
    .find((c) => c.startsWith("__Secure-prolong-rt="))
    ?.split(";")[0] as string;

function post(path: string, body: string, type: string, headers: Record<string, string> = {}) {
  return fetch(`${base}${path}`, { method: "POST", headers: { "content-type": type, ...headers }, body });
}
const json = (path: string, body: unknown) => post(path, JSON.stringify(body), "application/json");
const webRefresh = (cookie: string, body = "grant_type=refresh_token&client_id=web") =>
  post("/auth/oauth/token", body, "application/x-www-form-urlencoded", { cookie, "prolong-csrf": "1" });

describe("prolong inside an Express application", () => {
  it("serves its metadata under the mount path, naming the issuer's URLs", async () => {
    const response = await fetch(`${base}/auth/.well-known/oauth-authorization-server`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ issuer, token_endpoint: `${issuer}/oauth/token` });
  });

  it("starts a web session from the host's login: the cookie on the host's response, which then refreshes", async () => {
    const signedIn = await json("/my-login", { user: "user-42", password: PASSWORD });
    expect(signedIn.status).toBe(200);
    expect(signedIn.headers.get("cache-control")).toBe("private, no-store");
    const body = (await signedIn.json()) as Record<string, string>;
    expect(body.refresh_token).toBeUndefined();
    const cookies = setCookies(signedIn);
    expect(cookies.some((c) => c.startsWith("host-session=1"))).toBe(true);
    expect(cookies.find((c) => c.startsWith("__Secure-prolong-rt="))).toMatch(
      /; Path=\/auth\/oauth; Max-Age=\d+; HttpOnly; Secure; SameSite=Strict$/,
    );

    // The form passes through express.urlencoded() first; prolong reads it all the same.
    const refreshed = await webRefresh(refreshCookie(signedIn));
    expect(refreshed.status).toBe(200);
    const claims = JSON.parse(
      Buffer.from(
        ((await refreshed.json()) as { access_token: string }).access_token.split(".")[1] as string,
        "base64url",
      ).toString(),
    );
    expect(claims).toMatchObject({ sub: "user-42", iss: issuer, client_id: "web" });

    // Signing out clears the cookie on the same path.
    const revoked = await post("/auth/oauth/revoke", "client_id=web", "application/x-www-form-urlencoded", {
      cookie: refreshCookie(refreshed),
      "prolong-csrf": "1",
    });
    expect(revoked.status).toBe(200);
    expect(setCookies(revoked)[0]).toMatch(/^__Secure-prolong-rt=; Path=\/auth\/oauth; Max-Age=0;/);
  });

  it("starts a native session from the host's login: the tokens in the body", async () => {
    const signedIn = await json("/my-login", { user: "user-42", password: PASSWORD, client: "native" });
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
  });

  it("keeps its own body rules behind express.json() and express.urlencoded()", async () => {
    const login = await json("/auth/login", { username: "maryo", password: PASSWORD });
    expect(login.status).toBe(200);
    // Prototype keys, oversized bodies and repeated parameters are refused as the standalone server refuses them.
    const poisoned = await post(
      "/auth/login",
      `{"username":"maryo","password":"x","__proto__":{"admin":true}}`,
      "application/json",
    );
    expect(poisoned.status).toBe(400);
    expect(((await poisoned.json()) as { error_description: string }).error_description).toContain(
      "__proto__",
    );
    const big = await json("/auth/login", { username: "x".repeat(20_000), password: "x" });
    expect(big.status).toBe(413);
    const repeated = await webRefresh(
      "a=b",
      "grant_type=refresh_token&grant_type=refresh_token&client_id=web",
    );
    expect(await repeated.json()).toMatchObject({ error: "invalid_request" });
    expect(repeated.status).toBe(400);
  });

  it("leaves the host's routes and its 404 alone, and answers its own 404 under the mount path", async () => {
    const hello = await fetch(`${base}/hello`);
    expect(await hello.text()).toBe("hello from the host");
    const hostMissing = await fetch(`${base}/nowhere`);
    expect(hostMissing.status).toBe(404);
    expect(hostMissing.headers.get("content-type")).toMatch(/^text\/html/);
    const prolongMissing = await fetch(`${base}/auth/nowhere`);
    expect(await prolongMissing.json()).toEqual({
      error: "not_found",
      error_description: "no route GET /auth/nowhere",
    });
  });

  it("refuses to be mounted anywhere but the issuer's path: app.use throws, naming both paths", () => {
    const elsewhere = express();
    expect(() => elsewhere.use("/login", prolong.expressHandler())).toThrow(
      expect.objectContaining({
        code: "invalid_config",
        message:
          'prolong is mounted at /login but its issuer\'s path is /auth: mount it with app.use("/auth", …)',
      }),
    );
    expect(() => elsewhere.use(["/auth", "/login"], prolong.expressHandler())).toThrow(
      /mounted at \["\/auth","\/login"\] but its issuer's path is \/auth/,
    );
  });

  it("answers every request with an invalid_config error when a Router, which does not tell it its path, mounts it elsewhere", async () => {
    const errors: unknown[] = [];
    const elsewhere = express();
    const router = express.Router();
    router.use("/login", prolong.expressHandler());
    elsewhere.use(router);
    elsewhere.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
      errors.push(error);
      res.status(500).end();
    });
    const port = await freePort();
    const other = await new Promise<Server>((resolve) => {
      const listening = elsewhere.listen(port, "127.0.0.1", () => resolve(listening));
    });
    try {
      const response = await fetch(`http://127.0.0.1:${port}/login/oauth/token`);
      expect(response.status).toBe(500);
      expect(String(errors[0])).toMatch(/mounted at \/login but its issuer's path is \/auth/);
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }
  });

  it("is served from an application mounted under the rest of the issuer's path, and from an app's root", async () => {
    const nested = await createProlong(
      { issuer: "http://localhost:1/v1/auth", store: "memory:" },
      { logStream: { write: () => {} } },
    );
    const api = express();
    api.use("/auth", nested.expressHandler());
    const host = express();
    host.use("/v1", api);
    const atRoot = express();
    atRoot.use(prolong.expressHandler());
    const port = await freePort();
    const rootPort = await freePort();
    const listen = (app: express.Express, on: number) =>
      new Promise<Server>((resolve) => {
        const listening = app.listen(on, "127.0.0.1", () => resolve(listening));
      });
    const [hostServer, rootServer] = [await listen(host, port), await listen(atRoot, rootPort)];
    try {
      const metadata = await fetch(`http://127.0.0.1:${port}/v1/auth/.well-known/oauth-authorization-server`);
      expect(await metadata.json()).toMatchObject({ issuer: "http://localhost:1/v1/auth" });
      const fromRoot = await fetch(
        `http://127.0.0.1:${rootPort}/auth/.well-known/oauth-authorization-server`,
      );
      expect(await fromRoot.json()).toMatchObject({ issuer });
    } finally {
      await new Promise((resolve) => hostServer.close(resolve));
      await new Promise((resolve) => rootServer.close(resolve));
      await nested.close();
    }
  });

  it("needs an issuer with a path, which is where it is mounted", async () => {
    const rootIssuer = await createProlong(
      { issuer: "http://localhost:1", store: "memory:" },
      { logStream: { write: () => {} } },
    );
    try {
      expect(() => rootIssuer.expressHandler()).toThrow(/^issuer: http:\/\/localhost:1 has no path/);
    } finally {
      await rootIssuer.close();
    }
  });
});

// @module-tag chromium
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./browser.js";
import { freePort, type NodeProcess, startNodeProcess } from "./server-process.js";

// The example apps of docs/own-login.md, run as a reader runs them (`node examples/…`),
// each in a fresh directory (its SQLite file under ./data), with 5-second access tokens
// so a test crosses several renewals.
const TTL = 5;
const PASSWORD = "correct horse battery";

interface ExampleProcess extends NodeProcess {
  /** The address it printed, e.g. `http://localhost:3001`. */
  origin: string;
}

/** Starts `node examples/<script>` on the given environment; resolves once it prints its address. */
async function startExample(script: string, env: Record<string, string>): Promise<ExampleProcess> {
  const file = new URL(`../examples/${script}`, import.meta.url).pathname;
  const example = await startNodeProcess([file], env, /(http:\/\/localhost:\d+)\//);
  return { ...example, origin: example.ready[1] as string };
}

/** Runs `node examples/<script>` to completion; answers what it printed. */
async function runExample(script: string, env: Record<string, string>): Promise<string> {
  const file = new URL(`../examples/${script}`, import.meta.url).pathname;
  const { stdout } = await promisify(execFile)(process.execPath, [file], {
    env: { PATH: process.env.PATH ?? "", ...env },
    timeout: 20_000,
  });
  return stdout;
}

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

/** Signs in through the example's own login form, naming the device. */
async function signIn(page: Page, url: string, deviceName: string): Promise<void> {
  await page.goto(url);
  await page.waitForSelector("#signin:not([hidden])");
  await page.fill('input[name="password"]', PASSWORD);
  await page.fill('input[name="deviceName"]', deviceName);
  await page.click('#signin button[type="submit"]');
  await page.waitForSelector("#app:not([hidden])");
}

/** The page's session log: `refreshed (proactive)`, `signed out (revoked)`, … */
const logOf = (page: Page) =>
  page.$$eval("#log li", (items) => items.map((item) => item.textContent as string));

/** Clicks "Call the API" and answers what the protected route said: `200 {…}`. */
async function callApi(page: Page): Promise<{ status: number; body: Record<string, string> }> {
  await page.$eval("#answer", (element) => {
    element.textContent = "";
  });
  await page.click("#call");
  await page.waitForFunction(() => document.getElementById("answer")?.textContent !== "");
  const text = (await page.textContent("#answer")) as string;
  const space = text.indexOf(" ");
  return { status: Number(text.slice(0, space)), body: JSON.parse(text.slice(space + 1)) };
}

/**
 * Signed in, the page renews its access token ahead of expiry for three lifetimes and
 * more: on its own schedule (a `Prolong-Refresh: soon` from the API may add one), never
 * forced by a 401, never signed out; its API still answers for the same session.
 */
async function staysSignedIn(page: Page): Promise<void> {
  const first = await callApi(page);
  expect(first).toMatchObject({ status: 200, body: { id: "user-42", name: "Maryo" } });
  await page.waitForTimeout((3 * TTL + 1) * 1000);
  const log = await logOf(page);
  expect(log.filter((entry) => entry === "refreshed (proactive)").length).toBeGreaterThanOrEqual(3);
  const expected = ["refreshed (proactive)", "refreshed (resume)", "refreshed (soft-expiry)"];
  expect(log.filter((entry) => !expected.includes(entry))).toEqual([]);
  expect(await callApi(page)).toEqual(first);
}

/** The page shows its sign-in form again, and its log says why. */
async function signedOutWith(page: Page, reason: string, timeout: number): Promise<void> {
  await page.waitForSelector("#signin:not([hidden])", { timeout });
  expect(await logOf(page)).toContain(`signed out (${reason})`);
}

/** After a reload the page looked for a session, found none, and shows the sign-in form. */
async function reloadsSignedOut(page: Page, issuer: string): Promise<void> {
  await page.reload();
  await page.waitForSelector("#signin:not([hidden])");
  expect(await page.isHidden("#app")).toBe(true);
  expect(await logOf(page)).toEqual([]);
  expect(await page.context().cookies(`${issuer}/oauth/token`)).toEqual([]);
}

function sameOriginExample(script: string) {
  describe(`examples/${script}`, () => {
    let app: ExampleProcess;
    let base: string;
    let laptop: BrowserContext;
    let phone: BrowserContext;
    let laptopPage: Page;
    let phonePage: Page;

    beforeAll(async () => {
      app = await startExample(script, { PORT: String(await freePort()), ACCESS_TOKEN_TTL: String(TTL) });
      base = app.origin;
      laptop = await browser.newContext();
      phone = await browser.newContext();
    }, 60_000);
    afterAll(async () => {
      await laptop?.close();
      await phone?.close();
      // It shuts down on SIGTERM, as its README says.
      expect(await app?.stop()).toBe(0);
    });

    it("signs in through the app's own login, as user-42, and stays signed in across three access-token lifetimes", async () => {
      laptopPage = await laptop.newPage();
      await signIn(laptopPage, `${base}/`, "My laptop");
      // The refresh cookie, set by the app's login answer, lives on prolong's path only.
      expect(await laptop.cookies(`${base}/auth/oauth/token`)).toEqual([
        expect.objectContaining({ name: "__Secure-prolong-rt", path: "/auth/oauth", httpOnly: true }),
      ]);
      expect(await laptop.cookies(`${base}/api/me`)).toEqual([]);
      await staysSignedIn(laptopPage);
    }, 45_000);

    it("is signed out within its next refresh once another device signs it out", async () => {
      phonePage = await phone.newPage();
      await signIn(phonePage, `${base}/`, "Phone");
      await phonePage.waitForSelector('#devices li:has-text("My laptop") button');
      expect(await phonePage.textContent("#devices")).toContain("Phone (this device)");
      await phonePage.click('#devices li:has-text("My laptop") button');
      await phonePage.waitForFunction(() => document.querySelectorAll("#devices li").length === 1);
      // The laptop renews every half-lifetime; its next renewal is refused.
      await signedOutWith(laptopPage, "revoked", TTL * 1000 + 3000);
      await reloadsSignedOut(laptopPage, `${base}/auth`);
    }, 30_000);

    it("signs out, and a reload stays signed out", async () => {
      expect((await callApi(phonePage)).status).toBe(200);
      await phonePage.click("#signout");
      await signedOutWith(phonePage, "logout", 5000);
      await reloadsSignedOut(phonePage, `${base}/auth`);
    });

    it("gives a native app its tokens in the login's body: call the API, refresh, revoke", async () => {
      const login = (body: object) =>
        fetch(`${base}/login`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });
      expect((await login({ username: "ada", password: "wrong", client: "native" })).status).toBe(401);
      expect((await login({ username: "ada", password: "analytical engine", client: "ios" })).status).toBe(
        400,
      );

      const signedIn = await login({
        username: "ada",
        password: "analytical engine",
        client: "native",
        deviceName: "Ada's phone",
      });
      expect(signedIn.status).toBe(200);
      expect(signedIn.headers.getSetCookie()).toEqual([]);
      const tokens = (await signedIn.json()) as { access_token: string; refresh_token: string };
      expect(tokens.refresh_token).toMatch(/^[A-Za-z0-9_-]{91}$/);

      const me = await fetch(`${base}/api/me`, {
        headers: { authorization: `Bearer ${tokens.access_token}` },
      });
      expect(await me.json()).toMatchObject({ id: "user-7", name: "Ada" });
      expect((await fetch(`${base}/api/me`)).status).toBe(401);

      const form = (path: string, fields: Record<string, string>) =>
        fetch(`${base}/auth${path}`, { method: "POST", body: new URLSearchParams(fields) });
      const refresh = (token: string) =>
        form("/oauth/token", { grant_type: "refresh_token", client_id: "native", refresh_token: token });
      const refreshed = await refresh(tokens.refresh_token);
      expect(refreshed.status).toBe(200);
      const next = (await refreshed.json()) as { refresh_token: string };
      expect(next.refresh_token).not.toBe(tokens.refresh_token);

      expect((await form("/oauth/revoke", { token: next.refresh_token, client_id: "native" })).status).toBe(
        200,
      );
      const afterRevoke = await refresh(next.refresh_token);
      expect(afterRevoke.status).toBe(400);
      expect(await afterRevoke.json()).toMatchObject({ error: "invalid_grant" });
    });

    it("serves examples/native-app.mjs: @prolong/client's native profile on the login's refresh token", async () => {
      const printed = await runExample("native-app.mjs", { BASE: base });
      expect(printed).toContain('GET /api/me: 200 {"id":"user-7","name":"Ada",');
      expect(printed).toContain("renewed; the saved refresh token rotated: true");
      expect(printed).toContain("signed out; saved refresh token: null");
    });
  });
}

sameOriginExample("express-own-login/server.mjs");
sameOriginExample("fastify-own-login/server.mjs");

describe("examples/spa-cross-origin: the SPA on one origin, the API with prolong on another", () => {
  let api: ExampleProcess;
  let spa: ExampleProcess;
  let issuer: string;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    const [apiPort, spaPort] = [await freePort(), await freePort()];
    const env = { API_ORIGIN: `http://localhost:${apiPort}`, SPA_ORIGIN: `http://localhost:${spaPort}` };
    [api, spa] = await Promise.all([
      startExample("spa-cross-origin/api.mjs", {
        ...env,
        API_PORT: String(apiPort),
        ACCESS_TOKEN_TTL: String(TTL),
      }),
      startExample("spa-cross-origin/spa.mjs", { ...env, SPA_PORT: String(spaPort) }),
    ]);
    issuer = `${api.origin}/auth`;
    context = await browser.newContext();
  }, 60_000);
  afterAll(async () => {
    await context?.close();
    expect(await api?.stop()).toBe(0);
    expect(await spa?.stop()).toBe(0);
  });

  it("signs in through the API's own login from the SPA's origin and stays signed in across three access-token lifetimes", async () => {
    page = await context.newPage();
    await signIn(page, `${spa.origin}/`, "SPA");
    expect(await context.cookies(`${issuer}/oauth/token`)).toEqual([
      expect.objectContaining({ name: "__Secure-prolong-rt", path: "/auth/oauth", sameSite: "Strict" }),
    ]);
    await staysSignedIn(page);
  }, 45_000);

  it("resumes the session from the cookie when the SPA is opened again", async () => {
    await page.reload();
    await page.waitForSelector("#app:not([hidden])");
    expect(await logOf(page)).toEqual(["refreshed (resume)"]);
    expect(await callApi(page)).toMatchObject({ status: 200, body: { id: "user-42" } });
  });

  it("answers CORS to the SPA's origin only, on the app's routes as on prolong's", async () => {
    for (const path of ["/login", "/auth/oauth/token"]) {
      const preflight = (origin: string) =>
        fetch(`${api.origin}${path}`, {
          method: "OPTIONS",
          headers: { origin, "access-control-request-method": "POST" },
        });
      const allowed = await preflight(spa.origin);
      expect(allowed.headers.get("access-control-allow-origin")).toBe(spa.origin);
      expect(allowed.headers.get("access-control-allow-credentials")).toBe("true");
      const other = await preflight("http://localhost:1");
      expect(other.headers.get("access-control-allow-origin")).toBeNull();
    }
  });

  it("signs out, and a reload stays signed out", async () => {
    await page.click("#signout");
    await signedOutWith(page, "logout", 5000);
    await reloadsSignedOut(page, issuer);
  });
});

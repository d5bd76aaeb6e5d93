// @module-tag chromium
import { createServer, type Server } from "node:http";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./browser.js";
import { freePort, type RunningServer, runCli, startServerWithConfig } from "./server-process.js";

const PASSWORD = "correct horse battery";

/**
 * The page of a single-page app hosted apart from prolong: its script signs in with
 * fetch, keeps the access token in memory, refreshes through the cookie with the
 * anti-CSRF header, and lists the sessions. Each step reports what the browser let it see.
 */
const APP_PAGE = `<!doctype html>
<meta charset="utf-8">
<title>another origin</title>
<script>
  let accessToken = null;
  async function step(run) {
    try { return await run(); } catch (error) { return { blocked: error.name }; }
  }
  window.signIn = (prolong, password) => step(async () => {
    const r = await fetch(prolong + "/login", {
      method: "POST",
      credentials: "include",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "maryo", password, client_id: "web", device_name: "SPA" }),
    });
    const body = await r.json();
    accessToken = body.access_token ?? null;
    return { status: r.status, hasRefreshToken: "refresh_token" in body };
  });
  window.refresh = (prolong) => step(async () => {
    const r = await fetch(prolong + "/oauth/token", {
      method: "POST",
      credentials: "include",
      headers: { "content-type": "application/x-www-form-urlencoded", "prolong-csrf": "1" },
      body: "grant_type=refresh_token&client_id=web",
    });
    const body = await r.json();
    const renewed = typeof body.access_token === "string" && body.access_token !== accessToken;
    accessToken = body.access_token ?? accessToken;
    return { status: r.status, renewed };
  });
  window.sessions = (prolong) => step(async () => {
    const r = await fetch(prolong + "/sessions", {
      credentials: "include",
      headers: { authorization: "Bearer " + accessToken },
    });
    const body = await r.json();
    return { status: r.status, devices: body.sessions.map((s) => s.device_name) };
  });
</script>`;

/** A tiny static host for the page, on its own loopback port: another origin, the same site. */
async function hostPage(): Promise<{ origin: string; server: Server }> {
  const port = await freePort();
  const server = createServer((_request, response) => {
    response.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(APP_PAGE);
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { origin: `http://localhost:${port}`, server };
}

let prolong: RunningServer;
let allowed: { origin: string; server: Server };
let unlisted: { origin: string; server: Server };
let browser: Browser;
let issuer: string;

beforeAll(async () => {
  allowed = await hostPage();
  unlisted = await hostPage();
  prolong = await startServerWithConfig({ allowedOrigins: [allowed.origin] });
  // The default issuer, http://localhost:PORT: same site as the pages, whatever their port.
  issuer = prolong.url.replace("127.0.0.1", "localhost");
  const added = await runCli(["users", "add", "maryo", "--password", PASSWORD], { cwd: prolong.dir });
  expect(added.code).toBe(0);
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await prolong?.stop();
  for (const host of [allowed, unlisted]) await new Promise((resolve) => host?.server.close(resolve));
});

async function open(origin: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${origin}/`);
  return page;
}

describe("a browser app on another origin (CORS)", () => {
  it("signs in, refreshes through the cookie and lists sessions from a configured origin", async () => {
    const page = await open(allowed.origin);
    expect(await page.evaluate((url) => window.signIn(url, "correct horse battery"), issuer)).toEqual({
      status: 200,
      hasRefreshToken: false,
    });
    // The refresh token went into the httpOnly cookie, which this cross-origin fetch sends back.
    expect(await page.evaluate((url) => window.refresh(url), issuer)).toEqual({ status: 200, renewed: true });
    expect(await page.evaluate((url) => window.sessions(url), issuer)).toEqual({
      status: 200,
      devices: ["SPA"],
    });
    await page.context().close();
  });

  it("is blocked by the browser from an origin that is not configured", async () => {
    const page = await open(unlisted.origin);
    expect(await page.evaluate((url) => window.signIn(url, "correct horse battery"), issuer)).toEqual({
      blocked: "TypeError",
    });
    expect(await page.evaluate((url) => window.refresh(url), issuer)).toEqual({ blocked: "TypeError" });
    await page.context().close();
  });
});

declare global {
  interface Window {
    signIn(prolong: string, password: string): Promise<unknown>;
    refresh(prolong: string): Promise<unknown>;
    sessions(prolong: string): Promise<unknown>;
  }
}

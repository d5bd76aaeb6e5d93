// @module-tag chromium
import { createServer, type Server } from "node:http";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./browser.js";
import { freePort, type RunningServer, startServerWithConfig } from "./server-process.js";

const ADMIN_TOKEN = "admin-token-for-the-handoff-test";
const HANDOFF = "urn:prolong:grant-type:handoff";

let prolong: RunningServer;
let backend: { origin: string; server: Server };
let browser: Browser;
let issuer: string;

/** What the backend asks the admin API for once it has signed the user in itself. */
async function createHandoff(userId: string): Promise<{ handoff_code: string; expires_in: number }> {
  const response = await fetch(`${prolong.url}/admin/sessions`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ user_id: userId, device_name: "Chromium" }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as { handoff_code: string; expires_in: number };
}

/**
 * The page the backend answers its login with: the one-time code in it (never a token),
 * and a script that redeems it at prolong's token endpoint, then refreshes through the
 * cookie. Each step reports what the page could see.
 */
function page(code: string): string {
  return `<!doctype html>
<meta charset="utf-8">
<title>signed in by the backend</title>
<body data-code="${code}">
<script>
  let accessToken = null;
  const post = (body) => fetch(${JSON.stringify(issuer)} + "/oauth/token", {
    method: "POST",
    credentials: "include",
    headers: { "content-type": "application/x-www-form-urlencoded", "prolong-csrf": "1" },
    body: new URLSearchParams(body),
  });
  window.redeem = async (code) => {
    const r = await post({ grant_type: ${JSON.stringify(HANDOFF)}, code, client_id: "web" });
    const body = await r.json();
    accessToken = body.access_token ?? accessToken;
    return { status: r.status, error: body.prolong_error ?? null, keys: Object.keys(body).sort() };
  };
  window.refresh = async () => {
    const r = await post({ grant_type: "refresh_token", client_id: "web" });
    const body = await r.json();
    const renewed = typeof body.access_token === "string" && body.access_token !== accessToken;
    accessToken = body.access_token ?? accessToken;
    return { status: r.status, renewed };
  };
  window.readableCookies = () => document.cookie;
  window.signedIn = window.redeem(document.body.dataset.code);
</script>`;
}

/** The application's backend, on its own loopback port: another origin, the same site as prolong. */
async function startBackend(port: number): Promise<{ origin: string; server: Server }> {
  const server = createServer((_request, response) => {
    // It authenticated "user-42" itself; prolong only hands the session to the browser.
    createHandoff("user-42").then(
      ({ handoff_code }) =>
        response.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(page(handoff_code)),
      () => response.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { origin: `http://localhost:${port}`, server };
}

beforeAll(async () => {
  const backendPort = await freePort();
  prolong = await startServerWithConfig({
    adminToken: ADMIN_TOKEN,
    allowedOrigins: [`http://localhost:${backendPort}`],
  });
  // The default issuer, http://localhost:PORT: same site as the backend's page.
  issuer = prolong.url.replace("127.0.0.1", "localhost");
  backend = await startBackend(backendPort);
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await prolong?.stop();
  await new Promise((resolve) => backend?.server.close(resolve));
});

declare global {
  interface Window {
    redeem(code: string): Promise<{ status: number; error: string | null; keys: string[] }>;
    refresh(): Promise<{ status: number; renewed: boolean }>;
    readableCookies(): string;
    signedIn: Promise<{ status: number; error: string | null; keys: string[] }>;
  }
}

describe("a backend hands a web session to the browser through a one-time code", () => {
  let tab: Page;

  it("signs the page in: the cookie is set by prolong's answer, httpOnly, and no refresh token reaches the page", async () => {
    tab = await (await browser.newContext()).newPage();
    await tab.goto(`${backend.origin}/`);
    const redeemed = await tab.evaluate(() => window.signedIn);
    expect(redeemed).toEqual({
      status: 200,
      error: null,
      keys: ["access_token", "expires_in", "session_id", "token_type"],
    });
    // Cookies are listed for a URL they would be sent to: the token endpoint.
    const cookies = await tab.context().cookies(`${issuer}/oauth/token`);
    expect(cookies).toEqual([
      expect.objectContaining({
        name: "__Secure-prolong-rt",
        path: "/oauth",
        httpOnly: true,
        secure: true,
        sameSite: "Strict",
      }),
    ]);
    expect(await tab.evaluate(() => window.readableCookies())).not.toContain("prolong");
  });

  it("stays signed in: the cookie refreshes, again and again", async () => {
    for (let i = 0; i < 3; i++)
      expect(await tab.evaluate(() => window.refresh())).toEqual({ status: 200, renewed: true });
  });

  it("refuses the same code a second time", async () => {
    const code = await tab.evaluate(() => document.body.dataset.code as string);
    expect(await tab.evaluate((c) => window.redeem(c), code)).toEqual({
      status: 400,
      error: "invalid_grant",
      keys: ["error", "error_description", "prolong_error"],
    });
    // The session it started goes on.
    expect(await tab.evaluate(() => window.refresh())).toEqual({ status: 200, renewed: true });
    await tab.context().close();
  });
});

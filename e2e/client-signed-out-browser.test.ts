// @module-tag chromium
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./browser.js";
import { type ClientPageHost, hostClientPage, watchFailures } from "./client-page.js";
import { freePort, type RunningServer, startServerWithConfig } from "./server-process.js";

let server: RunningServer;
let app: ClientPageHost;
let browser: Browser;
let issuer: string;

beforeAll(async () => {
  const appPort = await freePort();
  server = await startServerWithConfig({ demo: true, allowedOrigins: [`http://localhost:${appPort}`] });
  // The default issuer, http://localhost:PORT.
  issuer = server.url.replace("127.0.0.1", "localhost");
  app = await hostClientPage({ port: appPort });
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await app?.close();
  await server?.stop();
});

describe("a signed-out page load in Chromium", () => {
  it("the demo page asks once, gets the documented 204, logs no error and shows the sign-in form", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const failures = watchFailures(page);
    const asked = page.waitForResponse((r) => new URL(r.url()).pathname === "/oauth/token");
    await page.goto(`${issuer}/`);
    expect((await asked).status()).toBe(204);
    await page.waitForSelector("#signin:not([hidden])");
    // Whatever else the load would do has had time to happen.
    await page.waitForTimeout(500);
    expect(failures).toEqual({ console: [], failed: [] });
    expect(await page.isHidden("#app")).toBe(true);
    await context.close();
  });

  it("an app on another origin: start() answers false quietly, no event, no failed request", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const failures = watchFailures(page);
    await page.goto(`${app.origin}/`);
    const outcome = await page.evaluate(async (iss) => {
      const client = window.prolong.createSessionClient({ issuer: iss });
      const events: string[] = [];
      for (const type of ["authorized", "refreshed", "signedOut", "error"] as const)
        client.on(type, () => events.push(type));
      const started = await client.start();
      return { started, events, token: client.accessToken };
    }, issuer);
    expect(outcome).toEqual({ started: false, events: [], token: null });
    expect(failures).toEqual({ console: [], failed: [] });
    await context.close();
  });

  it("a held session whose cookie is gone ends once, as expired, on the 204", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${issuer}/`);
    await page.fill('input[name="password"]', server.demoPassword as string);
    await page.click('#signin-form button[type="submit"]');
    await page.waitForSelector("#app:not([hidden])");
    await context.clearCookies();
    const outcome = await page.evaluate(async () => {
      const client = (
        globalThis as unknown as { prolongClient: ReturnType<typeof window.prolong.createSessionClient> }
      ).prolongClient;
      const reasons: string[] = [];
      client.on("signedOut", (e) => reasons.push(e.reason));
      const renewed = await client.refresh();
      await client.refresh();
      return { renewed, reasons, token: client.accessToken };
    });
    expect(outcome).toEqual({ renewed: false, reasons: ["expired"], token: null });
    await page.waitForSelector("#signin:not([hidden])");
    await context.close();
  });
});

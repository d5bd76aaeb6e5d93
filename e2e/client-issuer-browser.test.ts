// @module-tag chromium
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./browser.js";
import { type ClientPageHost, hostClientPage } from "./client-page.js";
import { forwardTo } from "./forward.js";
import { freePort, type RunningServer, startServerWithConfig, tokenRequests } from "./server-process.js";

let server: RunningServer;
let app: ClientPageHost;
let browser: Browser;
/** Requests for the token endpoint that reached the app's proxy. */
let proxiedTokenRequests = 0;

beforeAll(async () => {
  const appPort = await freePort();
  // prolong behind the app's origin, where it calls itself localhost, as its default does.
  server = await startServerWithConfig({ issuer: `http://localhost:${appPort}` });
  const upstream = new URL(server.url);
  app = await hostClientPage({
    port: appPort,
    other: (incoming, response) => {
      if (incoming.url === "/oauth/token") proxiedTokenRequests++;
      forwardTo({ host: upstream.hostname, port: upstream.port }, incoming, response);
    },
  });
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await app?.close();
  await server?.stop();
});

/** Starts a web client for `issuer` in the page; what `start()` answered and, after `waitMs`, every `error` event. */
async function startIn(page: Page, issuer: string, waitMs = 3000) {
  const started = await page.evaluate(async (iss) => {
    const client = window.prolong.createSessionClient({ issuer: iss });
    const errors: { code: string; fatal: boolean }[] = [];
    (globalThis as unknown as { errors: typeof errors }).errors = errors;
    client.on("error", ({ code, fatal }) => errors.push({ code, fatal }));
    return client.start();
  }, issuer);
  // Long enough for several retries, had the client gone on retrying.
  await page.waitForTimeout(waitMs);
  const errors = await page.evaluate(
    () => (globalThis as unknown as { errors: { code: string; fatal: boolean }[] }).errors,
  );
  return { started, errors };
}

describe("a client that can never reach its issuer, in Chromium", () => {
  it("a page on 127.0.0.1 whose server calls itself localhost: issuer_mismatch once, then nothing", async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`http://127.0.0.1:${app.port}/`);
    const before = proxiedTokenRequests;
    const origin = await page.evaluate(() => location.origin);
    expect(await startIn(page, origin)).toEqual({
      started: false,
      errors: [{ code: "issuer_mismatch", fatal: true }],
    });
    expect(proxiedTokenRequests).toBe(before);
    await page.context().close();
  });

  it("a page whose origin the issuer does not allow (CORS): issuer_unreachable once, then nothing", async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${app.origin}/`);
    const before = await tokenRequests(server);
    // prolong's own port: another origin than the page's, and not in its allowedOrigins.
    const issuer = `http://localhost:${new URL(server.url).port}`;
    expect(await startIn(page, issuer)).toEqual({
      started: false,
      errors: [{ code: "issuer_unreachable", fatal: true }],
    });
    expect(await tokenRequests(server)).toBe(before);
    await page.context().close();
  });

  it("an issuer that does not answer at all is a network failure, retried, never fatal", async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${app.origin}/`);
    const { started, errors } = await startIn(page, `http://localhost:${await freePort()}`);
    expect(started).toBe(false);
    expect(errors.length).toBeGreaterThanOrEqual(2);
    expect(errors.every((e) => e.code === "network" && !e.fatal)).toBe(true);
    await page.context().close();
  });
});

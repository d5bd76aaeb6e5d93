// @module-tag chromium
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./browser.js";
import { type DbscEvent, type DbscSite, eventWhere, sleep, startDbscSite, watchedPage } from "./dbsc-site.js";

/** Short, so a test sees the bound cookie expire: every request past it waits for a renewal. */
const LIFETIME = 3;
const BOUND = "__Host-prolong-dbsc";
const REFRESH = "__Secure-prolong-rt";

let site: DbscSite;
let browser: Browser;

beforeAll(async () => {
  site = await startDbscSite({
    profiles: { web: { dbsc: { enabled: true, cookieLifetimeSeconds: LIFETIME } } },
  });
  browser = await launchChromium({ trustSpki: site.tls.spki, dbsc: true });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await site?.close();
});

const boundValue = async (context: BrowserContext) =>
  (await context.cookies(site.origin)).find((c) => c.name === BOUND)?.value;

describe("Device Bound Session Credentials in Chromium", () => {
  let context: BrowserContext;
  let page: Page;
  let events: DbscEvent[];

  it("registers a key at sign-in and gets the bound cookie", async () => {
    context = await browser.newContext();
    ({ page, events } = await watchedPage(context));
    await page.goto(`${site.origin}/app`);
    expect(await page.evaluate((p) => window.signIn(p), site.prolong.demoPassword as string)).toEqual({
      status: 200,
      error: null,
    });
    const created = await eventWhere(events, (e) => e.creationEventDetails !== undefined);
    expect(created).toMatchObject({ succeeded: true, creationEventDetails: { fetchResult: "Success" } });
    const cookies = await context.cookies(site.origin);
    expect(cookies.find((c) => c.name === BOUND)).toMatchObject({ httpOnly: true, secure: true, path: "/" });
    expect(await page.evaluate(() => window.refresh())).toEqual({ status: 200, error: null });
  });

  it("renews the bound cookie with a proof once it expires, and the session goes on", async () => {
    const first = await boundValue(context);
    await sleep((LIFETIME + 1) * 1000);
    // Chromium holds the request, answers the challenge with its key, then sends it.
    expect(await page.evaluate(() => window.refresh())).toEqual({ status: 200, error: null });
    expect(await eventWhere(events, (e) => e.challengeEventDetails !== undefined)).toMatchObject({
      succeeded: true,
      challengeEventDetails: { challengeResult: "Success" },
    });
    expect(await eventWhere(events, (e) => e.refreshEventDetails !== undefined)).toMatchObject({
      succeeded: true,
      refreshEventDetails: { refreshResult: "Refreshed" },
    });
    const renewed = await boundValue(context);
    expect(renewed).toBeDefined();
    expect(renewed).not.toBe(first);
  });

  it("refuses the refresh and bound cookies copied into another browser once the bound cookie's lifetime ends", async () => {
    const copied = (await context.cookies()).filter((c) => c.name === BOUND || c.name === REFRESH);
    expect(copied.map((c) => c.name).sort()).toEqual([BOUND, REFRESH]);
    const thief = await browser.newContext();
    await thief.addCookies(copied);
    const stolen = await thief.newPage();
    await stolen.goto(`${site.origin}/app`);
    await sleep((LIFETIME + 1) * 1000);
    // Without the key nothing renews the bound cookie: refused, not signed out.
    expect(await stolen.evaluate(() => window.refresh())).toEqual({ status: 403, error: "device_unbound" });
    expect(await stolen.evaluate(() => window.refresh())).toEqual({ status: 403, error: "device_unbound" });
    // The browser with the key goes on.
    expect(await page.evaluate(() => window.refresh())).toEqual({ status: 200, error: null });
    await thief.close();
    await context.close();
  });
});

describe("the end of a bound session", () => {
  it("ends the browser's DBSC session too: its next renewal is told not to continue", async () => {
    const context = await browser.newContext();
    const { page, events } = await watchedPage(context);
    await page.goto(`${site.origin}/app`);
    await page.evaluate((p) => window.signIn(p), site.prolong.demoPassword as string);
    await eventWhere(events, (e) => e.creationEventDetails?.fetchResult === "Success");
    expect(await page.evaluate(() => window.signOut())).toEqual({ status: 200, error: null });
    await sleep((LIFETIME + 1) * 1000);
    // The request waits for a renewal, which hears `{"continue": false}`, then goes out unbound.
    expect(await page.evaluate(() => window.refresh())).toEqual({ status: 204, error: null });
    const ended = await eventWhere(events, (e) => e.terminationEventDetails !== undefined);
    expect(ended.terminationEventDetails).toEqual({ deletionReason: "ServerRequested" });
    expect(await boundValue(context)).toBeUndefined();
    await context.close();
  });
});

describe("a browser without DBSC", () => {
  it("signs in and refreshes as before: no key, no bound cookie, nothing to renew", async () => {
    const plain = await launchChromium({ trustSpki: site.tls.spki });
    try {
      const context = await plain.newContext();
      const { page, events } = await watchedPage(context);
      await page.goto(`${site.origin}/app`);
      expect(await page.evaluate((p) => window.signIn(p), site.prolong.demoPassword as string)).toEqual({
        status: 200,
        error: null,
      });
      expect(await page.evaluate(() => window.refresh())).toEqual({ status: 200, error: null });
      await sleep((LIFETIME + 1) * 1000);
      for (let i = 0; i < 3; i++)
        expect(await page.evaluate(() => window.refresh())).toEqual({ status: 200, error: null });
      expect(await boundValue(context)).toBeUndefined();
      expect(events).toEqual([]);
    } finally {
      await plain.close();
    }
  });
});

// @module-tag chromium
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./browser.js";
import { type DbscSite, eventWhere, sleep, startDbscSite, watchedPage } from "./dbsc-site.js";

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

describe("Device Bound Session Credentials in Chromium", () => {
  it("registers a key at sign-in and gets the bound cookie", async () => {
    const context = await browser.newContext();
    const { page, events } = await watchedPage(context);
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
    await context.close();
  });
});

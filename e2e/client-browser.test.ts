// @module-tag chromium
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./browser.js";
import { type RunningServer, startServerWithConfig, tokenRequests } from "./server-process.js";

// Access tokens of 20 s, so a test crosses several renewals in under a minute.
const TTL = 20;
let server: RunningServer;
let browser: Browser;
let base: string;

beforeAll(async () => {
  server = await startServerWithConfig({ demo: true, profiles: { web: { accessTokenTtl: TTL } } });
  base = server.url.replace("127.0.0.1", "localhost");
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function signIn(page: Page, query = "") {
  await page.goto(`${base}/${query}`);
  await page.fill('input[name="password"]', server.demoPassword as string);
  await page.click('#signin-form button[type="submit"]');
  await page.waitForSelector("#app:not([hidden])");
}

/** Records the client's events in the page, for the test to read. */
async function record(page: Page) {
  await page.evaluate(() => {
    const w = globalThis as unknown as {
      prolongClient: { on: (t: string, f: (e: unknown) => void) => void };
      seen: unknown[];
    };
    w.seen = [];
    for (const type of ["refreshed", "signedOut"])
      w.prolongClient.on(type, (e) => w.seen.push({ type, ...(e as object) }));
  });
}

const seen = (page: Page) =>
  page.evaluate(
    () =>
      (
        globalThis as unknown as {
          seen: { type: string; source?: string; reason?: string; accessToken?: string }[];
        }
      ).seen,
  );

/** Fires `count` concurrent API calls through the page's client; answers their statuses and the token used. */
const burst = (page: Page, count: number) =>
  page.evaluate(async (n) => {
    const client = (
      globalThis as unknown as {
        prolongClient: { fetch: (u: string) => Promise<Response>; accessToken: string };
      }
    ).prolongClient;
    const statuses = await Promise.all(
      Array.from({ length: n }, () => client.fetch("/demo/api/hello").then((r) => r.status)),
    );
    return { statuses, token: client.accessToken };
  }, count);

const iatOf = (token: string) =>
  JSON.parse(Buffer.from(token.split(".")[1] as string, "base64url").toString()).iat as number;

describe("the client in real Chromium against the real server", () => {
  it("8 tabs, each firing 20 concurrent requests across expiries, make one refresh per expiry", async () => {
    const context = await browser.newContext();
    const first = await context.newPage();
    await signIn(first);
    // The first page's load tried to resume from a cookie it did not have yet: one request.
    const afterSignIn = await tokenRequests(server);
    const tabs = [first];
    for (let i = 1; i < 8; i++) {
      const tab = await context.newPage();
      await tab.goto(`${base}/`);
      await tab.waitForSelector("#app:not([hidden])");
      tabs.push(tab);
    }
    const before = await tokenRequests(server);
    // Opening seven more tabs cost no refresh: they took the token from the first.
    expect(before).toBe(afterSignIn);
    for (const tab of tabs) await record(tab);
    const tokens = new Set<string>([(await burst(first, 1)).token]);

    const statuses: number[] = [];
    const started = Date.now();
    while (Date.now() - started < 2.6 * TTL * 1000) {
      const results = await Promise.all(tabs.map((tab) => burst(tab, 20)));
      for (const r of results) statuses.push(...r.statuses);
      await new Promise((r) => setTimeout(r, 1500));
    }
    const refreshes = (await tokenRequests(server)) - before;
    // Every token any tab adopted, whether it fetched it or heard of it from another tab.
    for (const tab of tabs)
      for (const event of await seen(tab)) if (event.accessToken) tokens.add(event.accessToken);
    expect(statuses.length).toBeGreaterThan(8 * 20 * 10);
    expect(statuses.every((s) => s === 200)).toBe(true);
    // Several renewals happened, each by one request: every token the tabs used came from
    // a distinct refresh, spaced a renewal interval apart, never two for one expiry.
    expect(refreshes).toBeGreaterThanOrEqual(4);
    expect(tokens.size).toBe(refreshes + 1);
    const iats = [...tokens].map(iatOf).sort((a, b) => a - b);
    for (let i = 1; i < iats.length; i++)
      expect((iats[i] as number) - (iats[i - 1] as number)).toBeGreaterThanOrEqual(TTL / 4);
    await context.close();
  }, 120_000);

  it.each([3_600_000, -3_600_000])(
    "renews in time with the device clock off by %i ms, no 401 reaching the page",
    async (skew) => {
      const context = await browser.newContext();
      await context.addInitScript((offset) => {
        const realNow = Date.now.bind(Date);
        Date.now = () => realNow() + offset;
      }, skew);
      const page = await context.newPage();
      await signIn(page);
      await record(page);
      const statuses: number[] = [];
      const started = Date.now();
      while (Date.now() - started < 1.6 * TTL * 1000) {
        statuses.push(...(await burst(page, 3)).statuses);
        await new Promise((r) => setTimeout(r, 1000));
      }
      expect(statuses.every((s) => s === 200)).toBe(true);
      const events = await seen(page);
      expect(events.filter((e) => e.source === "proactive").length).toBeGreaterThanOrEqual(1);
      expect(events.filter((e) => e.source === "reactive")).toEqual([]);
      await context.close();
    },
    90_000,
  );

  it("stays signed in through an outage longer than the lead time, and recovers online", async () => {
    const context: BrowserContext = await browser.newContext();
    const page = await context.newPage();
    await signIn(page);
    await record(page);
    // Offline from before the renewal point (half of 20 s) until shortly before expiry.
    await context.setOffline(true);
    await new Promise((r) => setTimeout(r, 14_000));
    await context.setOffline(false);
    await expect
      .poll(async () => (await seen(page)).filter((e) => e.type === "refreshed").length, { timeout: 8000 })
      .toBeGreaterThan(0);
    const { statuses } = await burst(page, 3);
    expect(statuses).toEqual([200, 200, 200]);
    expect((await seen(page)).filter((e) => e.type === "signedOut")).toEqual([]);
    expect(await page.isVisible("#app")).toBe(true);
    await context.close();
  }, 60_000);

  it("signs out once, for idleness, when nobody touches the page", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, "?idle=4");
    await record(page);
    await page.waitForSelector("#signin:not([hidden])", { timeout: 10_000 });
    await new Promise((r) => setTimeout(r, 2000));
    expect(await seen(page)).toEqual([{ type: "signedOut", reason: "idle" }]);
    await context.close();
  }, 30_000);

  it("a session revoked from another browser ends with one signedOut", async () => {
    const victim = await browser.newContext();
    const page = await victim.newPage();
    await signIn(page);
    await record(page);
    const sessionId = await page.evaluate(
      () =>
        (globalThis as unknown as { prolongClient: { claims: { sid: string } } }).prolongClient.claims.sid,
    );
    const admin = await browser.newContext();
    const other = await admin.newPage();
    await signIn(other);
    await other.evaluate(
      (sid) =>
        (
          globalThis as unknown as { prolongClient: { fetch: (u: string, i: object) => Promise<Response> } }
        ).prolongClient.fetch(`/sessions/${sid}`, { method: "DELETE" }),
      sessionId,
    );
    // The victim's next renewal is refused; it signs out, once, and stays out.
    await page.waitForSelector("#signin:not([hidden])", { timeout: TTL * 1000 });
    await new Promise((r) => setTimeout(r, 3000));
    await burst(page, 5);
    expect(await seen(page)).toEqual([{ type: "signedOut", reason: "revoked" }]);
    await victim.close();
    await admin.close();
  }, 60_000);
});

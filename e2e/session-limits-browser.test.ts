// @module-tag chromium
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./browser.js";
import { type RunningServer, startServerProcess } from "./server-process.js";

// Device limits (docs/session-policies.md) seen by browsers: the demo page signed in from
// one more browser than the web profile allows, each with cookies of its own.

const MAX = 2;

let browser: Browser;
let dir: string;
const servers: RunningServer[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  dir = mkdtempSync(join(tmpdir(), "prolong-limits-browser-"));
});
afterAll(async () => {
  await browser?.close();
  await Promise.all(servers.map((s) => s.stop()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A demo server whose web profile allows {@link MAX} sessions, answering the next as `onLimit` says. */
async function demoServer(onLimit: "evict" | "refuse") {
  const file = join(dir, `${onLimit}.json`);
  writeFileSync(
    file,
    JSON.stringify({ store: "memory:", profiles: { web: { maxSessions: { max: MAX, onLimit } } } }),
  );
  const server = await startServerProcess(["--demo", "--config", file]);
  servers.push(server);
  // The issuer is http://localhost:PORT; the page is served from the same origin.
  return { server, base: server.url.replace("127.0.0.1", "localhost") };
}

async function openSignIn(base: string, server: RunningServer, deviceName: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${base}/`);
  await page.fill('input[name="password"]', server.demoPassword as string);
  await page.fill('input[name="device_name"]', deviceName);
  await page.click('#signin-form button[type="submit"]');
  return page;
}

async function callApi(page: Page): Promise<void> {
  await page.click("#call-api");
}

describe(`${MAX + 1} browsers signing in where the web profile allows ${MAX}`, () => {
  it("evict: the least recently active browser is signed out, the others go on", async () => {
    const { server, base } = await demoServer("evict");
    const pages: Page[] = [];
    for (let i = 1; i <= MAX + 1; i++) {
      const page = await openSignIn(base, server, `Browser ${i}`);
      await page.waitForSelector("#app:not([hidden])");
      pages.push(page);
    }
    const [first, ...rest] = pages as [Page, ...Page[]];
    // The first browser's session was evicted by the last sign-in: its next call ends on the sign-in form.
    await callApi(first);
    await first.waitForSelector("#signin:not([hidden])");
    expect(await first.isHidden("#app")).toBe(true);
    for (const page of rest) {
      await callApi(page);
      await expect.poll(() => page.textContent("#api-result")).toContain("200 OK");
    }
    const last = rest.at(-1) as Page;
    await last.reload();
    await last.waitForSelector("#app:not([hidden])");
    await expect
      .poll(() => last.locator("#devices tr td:first-child").allInnerTexts())
      .toEqual(
        expect.arrayContaining([expect.stringContaining("Browser 2"), expect.stringContaining("Browser 3")]),
      );
    expect(await last.locator("#devices tr td:first-child").allInnerTexts()).toHaveLength(MAX);
  }, 60_000);

  it("refuse: the extra browser is told the limit and stays signed out; the others are untouched", async () => {
    const { server, base } = await demoServer("refuse");
    const admitted: Page[] = [];
    for (let i = 1; i <= MAX; i++) {
      const page = await openSignIn(base, server, `Browser ${i}`);
      await page.waitForSelector("#app:not([hidden])");
      admitted.push(page);
    }
    const extra = await openSignIn(base, server, "One too many");
    await expect.poll(() => extra.textContent("#signin-error")).toContain(`at most ${MAX}`);
    expect(await extra.isHidden("#app")).toBe(true);
    for (const page of admitted) {
      await callApi(page);
      await expect.poll(() => page.textContent("#api-result")).toContain("200 OK");
    }
  }, 60_000);
});

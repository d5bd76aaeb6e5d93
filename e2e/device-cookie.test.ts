// @module-tag chromium
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./browser.js";
import { type RunningServer, startServerProcess } from "./server-process.js";

// One server of its own: the test spends its address's sign-in budget on purpose.
let server: RunningServer;
let browser: Browser;
let base: string;

beforeAll(async () => {
  server = await startServerProcess(["--demo"]);
  // The issuer is http://localhost:PORT, the page's own origin; the browser and this
  // process both reach the server from 127.0.0.1, one address for its limits.
  base = server.url.replace("127.0.0.1", "localhost");
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function submitPassword(page: Page, password: string) {
  await page.fill('input[name="password"]', password);
  await page.click('#signin-form button[type="submit"]');
}

async function freshPage(): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${base}/`);
  return page;
}

const deviceNames = (page: Page) => page.locator("#devices tr td:first-child").allInnerTexts();

describe("the device cookie in a real browser", () => {
  it("names the session after the browser when nobody named it, the raw agent beside it", async () => {
    const page = await freshPage();
    await submitPassword(page, server.demoPassword as string);
    await page.waitForSelector("#app:not([hidden])");
    await expect.poll(() => deviceNames(page)).toEqual([expect.stringContaining("Chrome on Linux")]);
    const agent = await page.evaluate(() => navigator.userAgent);
    expect(await page.getAttribute("#devices tr td:first-child", "title")).toBe(agent);
    await page.context().close();
  });

  it("keeps a browser that signed in before out of its address's lock-out; a new one waits", async () => {
    const known = await freshPage();
    await submitPassword(known, server.demoPassword as string);
    await known.waitForSelector("#app:not([hidden])");
    // Kept by the browser where script cannot read it.
    const device = (await known.context().cookies()).find((c) => c.name === "__Host-prolong-device");
    expect(device).toMatchObject({ httpOnly: true, secure: true, sameSite: "Strict", path: "/" });
    expect(await known.evaluate(() => document.cookie)).toBe("");
    await known.click("#logout");
    await known.waitForSelector("#signin:not([hidden])");

    // A typo, then 31 wrong passwords for other usernames from the same address.
    await submitPassword(known, "a typo");
    await expect.poll(() => known.textContent("#signin-error")).toBe("Wrong username or password.");
    for (let i = 0; i < 31; i++) {
      const response = await fetch(`${server.url}/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: `user${i}`, password: "Summer2026!" }),
      });
      expect(response.status).toBe(401);
    }

    await submitPassword(known, server.demoPassword as string);
    await known.waitForSelector("#app:not([hidden])");

    // A browser without the cookie, after its own typo, is refused until the window ends.
    const stranger = await freshPage();
    await submitPassword(stranger, "a typo");
    await expect.poll(() => stranger.textContent("#signin-error")).toBe("Wrong username or password.");
    const refused = stranger.waitForResponse((r) => r.url().endsWith("/login"));
    await submitPassword(stranger, server.demoPassword as string);
    expect((await refused).status()).toBe(429);
    expect(await stranger.isHidden("#app")).toBe(true);
  });
});

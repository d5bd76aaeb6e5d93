// @module-tag chromium
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./browser.js";
import { type RunningServer, startServerProcess } from "./server-process.js";

let server: RunningServer;
let browser: Browser;
let base: string;

beforeAll(async () => {
  server = await startServerProcess(["--demo"]);
  // The issuer is http://localhost:PORT; the page is served from the same origin.
  base = server.url.replace("127.0.0.1", "localhost");
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function signIn(page: Page, deviceName: string) {
  await page.goto(`${base}/`);
  await page.fill('input[name="password"]', server.demoPassword as string);
  await page.fill('input[name="device_name"]', deviceName);
  await page.click('#signin-form button[type="submit"]');
  await page.waitForSelector("#app:not([hidden])");
}

const deviceNames = (page: Page) => page.locator("#devices tr td:first-child").allInnerTexts();

describe("the demo page in a real browser", () => {
  it("signs in, calls the protected API, renames a device, and a revoked device is signed out", async () => {
    const first = await (await browser.newContext()).newPage();
    await signIn(first, "Laptop");
    await expect.poll(() => first.textContent("#expires-in")).toMatch(/^\d+ s$/);

    await first.click("#call-api");
    await expect.poll(() => first.textContent("#api-result")).toContain("200 OK");

    first.once("dialog", (dialog) => void dialog.accept("Maryo's laptop"));
    await first.click('#devices tr:has(.current) button:has-text("Rename")');
    await expect.poll(() => deviceNames(first)).toEqual([expect.stringContaining("Maryo's laptop")]);

    // A second browser (its own cookies) signs in as another device.
    const second = await (await browser.newContext()).newPage();
    await signIn(second, "Phone");

    // The first revokes the second from its device list.
    await first.reload();
    await first.waitForSelector("#app:not([hidden])");
    await expect.poll(() => deviceNames(first)).toHaveLength(2);
    await first.click('#devices tr:not(:has(.current)) button:has-text("Revoke")');
    await expect.poll(() => deviceNames(first)).toHaveLength(1);

    // The second's next call gets 401, its refresh is refused, and it lands on the sign-in form.
    await second.click("#call-api");
    await second.waitForSelector("#signin:not([hidden])");
    expect(await second.isHidden("#app")).toBe(true);
    expect(await second.textContent("#log")).toMatch(/signed out [^a-z]*[AP]M revoked/);

    // The first is untouched, and a reload resumes its session from the cookie.
    await first.reload();
    await first.waitForSelector("#app:not([hidden])");
    await first.click("#call-api");
    await expect.poll(() => first.textContent("#api-result")).toContain("200 OK");

    if (process.env.PROLONG_SCREENSHOT) {
      await first.setViewportSize({ width: 1100, height: 900 });
      await first.screenshot({ path: process.env.PROLONG_SCREENSHOT, fullPage: true });
    }
  });

  it("shows the server's error_description when a password change is refused", async () => {
    const page = await (await browser.newContext()).newPage();
    await signIn(page, "Desktop");
    await page.fill('input[name="current_password"]', "not the password");
    await page.fill('input[name="new_password"]', "a brand new passphrase");
    await page.click('#password-form button[type="submit"]');
    await expect.poll(() => page.textContent("#password-result")).toBe("current password is wrong");
  });

  it("never lets script read the refresh token", async () => {
    const page = await (await browser.newContext()).newPage();
    await signIn(page, "Tablet");
    expect(await page.evaluate(() => document.cookie)).toBe("");
    const cookies = await page.context().cookies();
    const refresh = cookies.find((c) => c.name === "__Secure-prolong-rt");
    expect(refresh).toMatchObject({ httpOnly: true, secure: true, sameSite: "Strict", path: "/oauth" });
  });
});

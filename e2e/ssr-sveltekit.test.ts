// @module-tag chromium
import type { Browser, BrowserContext, Page, Response } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./browser.js";
import { freePort } from "./server-process.js";
import { buildSvelteKit, type SvelteKitApp, type SvelteKitBuild, startSvelteKit } from "./sveltekit-app.js";

// examples/sveltekit built for production (`vite build`, adapter-node) and run as a real
// process, driven by Chromium: the first server render is signed in, renewal happens in
// `handle` before the render, and nothing that sets a cookie may be cached.
const TTL = 5;
const GRACE = 4;
const MARYO = { username: "maryo", password: "correct horse battery", id: "user-42", name: "Maryo" };
const ADA = { username: "ada", password: "analytical engine", id: "user-7", name: "Ada" };
type User = typeof MARYO;

let build: SvelteKitBuild;
let app: SvelteKitApp;
let browser: Browser;

/** Every answer the browsers got that set a cookie, with its Cache-Control. */
const cookieAnswers: { url: string; status: number; cacheControl: string | undefined }[] = [];

async function context(options: { javaScriptEnabled: boolean }): Promise<BrowserContext> {
  const created = await browser.newContext(options);
  created.on("response", (response: Response) => {
    // Redirects included: a login's 303 is where its cookies arrive.
    void response.allHeaders().then(
      (headers) => {
        if (headers["set-cookie"] !== undefined)
          cookieAnswers.push({
            url: response.url(),
            status: response.status(),
            cacheControl: headers["cache-control"],
          });
      },
      () => {},
    );
  });
  return created;
}

beforeAll(async () => {
  [build, browser] = await Promise.all([buildSvelteKit(), launchChromium()]);
  app = await startSvelteKit(build, { port: await freePort(), ttl: TTL, graceWindow: GRACE });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  // adapter-node closes prolong (and its store) on SIGTERM and exits cleanly.
  expect(await app?.stop()).toBe(0);
  build?.remove();
});

/** Signs in through the app's own form (a plain POST) and lands on the protected page. */
async function signIn(page: Page, user: User, deviceName: string): Promise<void> {
  await page.goto(`${app.url}/login`);
  await page.fill('input[name="username"]', user.username);
  await page.fill('input[name="password"]', user.password);
  await page.fill('input[name="deviceName"]', deviceName);
  await Promise.all([page.waitForURL(`${app.url}/account`), page.click('#signin button[type="submit"]')]);
}

/** The protected page as the server rendered it: the HTML of the navigation's answer, before any script. */
async function renderedAccount(page: Page): Promise<{ url: string; html: string }> {
  const response = await page.goto(`${app.url}/account`);
  if (!response) throw new Error("no answer for /account");
  return { url: page.url(), html: await response.text() };
}

const sessionOf = async (page: Page) => (await page.textContent("#session")) as string;

describe("examples/sveltekit", () => {
  it("with JavaScript off: the login form signs in, the first HTML of the protected page names the user, and a signed-out browser never gets another user's page", async () => {
    const laptop = await context({ javaScriptEnabled: false });
    const other = await context({ javaScriptEnabled: false });
    const stranger = await context({ javaScriptEnabled: false });
    try {
      const maryo = await laptop.newPage();
      const ada = await other.newPage();
      await signIn(maryo, MARYO, "Maryo's laptop");
      await signIn(ada, ADA, "Ada's laptop");

      const first = await renderedAccount(maryo);
      expect(first.html).toContain("Signed in as Maryo (user-42)");
      expect(first.html).not.toContain("Ada");
      const second = await renderedAccount(ada);
      expect(second.html).toContain("Signed in as Ada (user-7)");
      expect(second.html).not.toContain("Maryo");

      // Both of prolong's cookies, httpOnly, for the whole site: the server render reads them.
      const cookies = await laptop.cookies(app.url);
      expect(cookies.map((cookie) => cookie.name).sort()).toEqual(["__Host-prolong-at", "__Host-prolong-rt"]);
      for (const cookie of cookies) expect(cookie).toMatchObject({ path: "/", httpOnly: true, secure: true });

      // A browser without cookies: the login page, by a redirect; no one's account.
      const page = await stranger.newPage();
      const signedOut = await renderedAccount(page);
      expect(signedOut.url).toBe(`${app.url}/login`);
      expect(signedOut.html).toContain('id="signin"');
      expect(signedOut.html).not.toMatch(/Maryo|Ada|user-42|user-7/);
      const api = await page.goto(`${app.url}/api/me`);
      expect(api?.status()).toBe(401);
      expect(await api?.json()).toEqual({ error: "signed_out" });
      const raw = await fetch(`${app.url}/account`, { redirect: "manual" });
      expect(raw.status).toBe(303);
      expect(raw.headers.get("location")).toBe("/login");

      // The API answers for the signed-in browser, each its own user.
      const own = await maryo.goto(`${app.url}/api/me`);
      expect(await own?.json()).toMatchObject({ id: MARYO.id, name: MARYO.name });
    } finally {
      await Promise.all([laptop.close(), other.close(), stranger.close()]);
    }
  }, 60_000);

  it("keeps what was typed into the login form before the page's scripts ran, and says when the password is wrong", async () => {
    const slow = await context({ javaScriptEnabled: true });
    try {
      const page = await slow.newPage();
      // The app's scripts held back until the form is filled, as on a slow network.
      let release = () => {};
      const scripts = new Promise<void>((resolve) => {
        release = resolve;
      });
      await page.route("**/_app/immutable/**", async (route) => {
        await scripts;
        await route.continue();
      });
      await page.goto(`${app.url}/login`, { waitUntil: "domcontentloaded" });
      await page.fill('input[name="username"]', ADA.username);
      await page.fill('input[name="password"]', "not the password");
      release();
      await page.waitForLoadState("networkidle");
      expect(await page.inputValue('input[name="username"]')).toBe(ADA.username);
      await Promise.all([page.waitForSelector("#wrong"), page.click('#signin button[type="submit"]')]);
      expect(page.url()).toBe(`${app.url}/login`);
      expect(await page.inputValue('input[name="username"]')).toBe(ADA.username);
      expect(await slow.cookies(app.url)).toEqual([]);
    } finally {
      await slow.close();
    }
  }, 30_000);

  it("with 5 s access tokens, bursts of navigations, data loads and API calls around rfa and exp never get a 401 or a sign-out, and rotate the refresh token at most once per burst", async () => {
    const phone = await context({ javaScriptEnabled: true });
    try {
      const page = await phone.newPage();
      const second = await phone.newPage();
      // Where the parallel requests run from: a page that is not navigating meanwhile.
      const fetcher = await phone.newPage();
      await signIn(page, MARYO, "Maryo's phone");
      await fetcher.goto(`${app.url}/`);
      const session = await sessionOf(page);
      const signedInAt = Date.now();
      const rotations: number[] = [];
      const statuses: number[] = [];

      /** One burst: two navigations and a dozen parallel requests, all leaving with the same cookies. */
      const burst = async () => {
        const before = app.generation(session);
        const [, , answers] = await Promise.all([
          page.goto(`${app.url}/account`),
          second.goto(`${app.url}/devices`),
          fetcher.evaluate(async () => {
            const urls = [
              ...Array.from({ length: 8 }, () => "/api/me"),
              "/account/__data.json",
              "/devices/__data.json",
              "/__data.json",
              "/api/me",
            ];
            return Promise.all(
              urls.map(async (url) => {
                const response = await fetch(url);
                return { status: response.status, body: await response.text() };
              }),
            );
          }),
        ]);
        for (const answer of answers) {
          statuses.push(answer.status);
          if (answer.status === 200 && answer.body.startsWith('{"id"'))
            expect(JSON.parse(answer.body)).toMatchObject({ id: MARYO.id, session });
        }
        expect(await page.textContent("#user")).toContain("Signed in as Maryo (user-42)");
        expect(await sessionOf(page)).toBe(session);
        expect(await second.textContent("#devices")).toContain("Maryo's phone (this device)");
        rotations.push(app.generation(session) - before);
      };

      // Bursts every 0.7 s for more than three lifetimes: some fall just past rfa (80 % of
      // the lifetime), some just past exp; then one after an idle spell longer than a
      // lifetime, when the browser has dropped the expired access cookie.
      while (Date.now() - signedInAt < (3 * TTL + 1) * 1000) {
        await burst();
        await page.waitForTimeout(700);
      }
      await page.waitForTimeout((TTL + 1) * 1000);
      expect((await phone.cookies(app.url)).map((cookie) => cookie.name)).toEqual(["__Host-prolong-rt"]);
      await burst();

      expect(statuses.filter((status) => status !== 200)).toEqual([]);
      expect(rotations.every((count) => count <= 1)).toBe(true);
      // Renewals happened (each lifetime needs one), and none of them looked like theft.
      expect(rotations.filter((count) => count === 1).length).toBeGreaterThanOrEqual(3);
      expect(app.revoked(session)).toBeNull();
      expect(app.events("reuse_detected", MARYO.id)).toBe(0);
    } finally {
      await phone.close();
    }
  }, 90_000);

  it("stragglers with earlier refresh cookies inside the grace window do not revoke the session; after the window an earlier cookie does", async () => {
    const tablet = await context({ javaScriptEnabled: false });
    try {
      const page = await tablet.newPage();
      await signIn(page, ADA, "Ada's tablet");
      const session = await sessionOf(page);
      const refreshCookie = async () =>
        (await tablet.cookies(app.url)).find((cookie) => cookie.name === "__Host-prolong-rt")
          ?.value as string;
      /** The browser renews (its access cookie gone) and holds the successor from then on. */
      const renewInBrowser = async () => {
        const before = await refreshCookie();
        await tablet.clearCookies({ name: "__Host-prolong-at" });
        expect((await renderedAccount(page)).html).toContain("Signed in as Ada (user-7)");
        const after = await refreshCookie();
        expect(after).not.toBe(before);
        return after;
      };
      /** A request that left with an earlier refresh cookie and no access cookie, arriving now. */
      const late = (refresh: string) =>
        fetch(`${app.url}/account`, {
          headers: { cookie: `__Host-prolong-rt=${refresh}` },
          redirect: "manual",
        });
      const names = (answer: globalThis.Response) =>
        answer.headers.getSetCookie().map((value) => value.split("=")[0]);

      const first = await refreshCookie();
      const second = await renewInBrowser();
      const third = await renewInBrowser();
      const generation = app.generation(session);

      // Two generations behind, and the browser already used its successor: a straggler.
      // Rendered signed in, given an access cookie only; the browser keeps the newest one.
      const straggler = await late(first);
      expect(straggler.status).toBe(200);
      expect(await straggler.text()).toContain("Signed in as Ada (user-7)");
      expect(names(straggler)).toEqual(["__Host-prolong-at"]);
      expect(straggler.headers.get("cache-control")).toBe("private, no-store");
      // One generation behind: replayed, answered with the same successor the browser has.
      const previous = await late(second);
      expect(previous.status).toBe(200);
      expect(previous.headers.getSetCookie()).toContainEqual(
        expect.stringContaining(`__Host-prolong-rt=${third};`),
      );
      expect(app.revoked(session)).toBeNull();
      expect(app.generation(session)).toBe(generation);
      expect(app.events("reuse_detected", ADA.id)).toBe(0);
      // The browser goes on with what it holds.
      const fourth = await renewInBrowser();

      // Past the grace window an earlier cookie is reuse: the session is revoked, that
      // request renders signed out, and so does the browser's next render that renews.
      await page.waitForTimeout((GRACE + 1) * 1000);
      const replay = await late(third);
      expect(replay.status).toBe(303);
      expect(replay.headers.get("location")).toBe("/login");
      expect(names(replay).sort()).toEqual(["__Host-prolong-at", "__Host-prolong-rt"]);
      expect(app.revoked(session)).not.toBeNull();
      expect(app.events("reuse_detected", ADA.id)).toBe(1);
      expect(await refreshCookie()).toBe(fourth);
      await tablet.clearCookies({ name: "__Host-prolong-at" });
      expect(await renderedAccount(page)).toMatchObject({ url: `${app.url}/login` });
      expect(await tablet.cookies(app.url)).toEqual([]);
    } finally {
      await tablet.close();
    }
  }, 60_000);

  it("sign-out ends this device's server render at once; a revocation from another device reaches the render within one access-token lifetime", async () => {
    const desk = await context({ javaScriptEnabled: false });
    const laptop = await context({ javaScriptEnabled: true });
    const phone = await context({ javaScriptEnabled: true });
    try {
      const deskPage = await desk.newPage();
      await signIn(deskPage, MARYO, "Maryo's desk");
      const deskSession = await sessionOf(deskPage);
      await Promise.all([deskPage.waitForURL(`${app.url}/login`), deskPage.click("#sign-out")]);
      expect(await deskPage.textContent("h1")).toBe("Sign in");
      expect(await desk.cookies(app.url)).toEqual([]);
      expect(await renderedAccount(deskPage)).toMatchObject({ url: `${app.url}/login` });
      expect(app.revoked(deskSession)).not.toBeNull();

      const laptopPage = await laptop.newPage();
      const phonePage = await phone.newPage();
      await signIn(laptopPage, MARYO, "Maryo's work laptop");
      await signIn(phonePage, MARYO, "Maryo's old phone");
      const phoneSession = await sessionOf(phonePage);

      // The laptop signs the phone out from its device list.
      await laptopPage.goto(`${app.url}/devices`);
      const row = laptopPage.locator(`#devices li[data-session="${phoneSession}"]`);
      await Promise.all([laptopPage.waitForURL(`${app.url}/devices`), row.locator("button").click()]);
      expect(await laptopPage.locator(`#devices li[data-session="${phoneSession}"]`).count()).toBe(0);
      const revokedAt = Date.now();

      // The phone's access cookie still verifies locally until its rfa; then the renewal
      // is refused and the render is signed out: within one lifetime.
      let signedOutAfter: number | null = null;
      while (Date.now() - revokedAt < (TTL + 2) * 1000) {
        const { url } = await renderedAccount(phonePage);
        if (url === `${app.url}/login`) {
          signedOutAfter = Date.now() - revokedAt;
          break;
        }
        await phonePage.waitForTimeout(250);
      }
      expect(signedOutAfter).not.toBeNull();
      expect(signedOutAfter).toBeLessThanOrEqual(TTL * 1000 + 500);
      expect(await phone.cookies(app.url)).toEqual([]);
      // The laptop stays signed in.
      expect((await renderedAccount(laptopPage)).html).toContain("Signed in as Maryo (user-42)");
    } finally {
      await Promise.all([desk.close(), laptop.close(), phone.close()]);
    }
  }, 60_000);

  it("every answer that set a cookie said Cache-Control: private, no-store", () => {
    // Logins, renewals, the straggler's answer, sign-outs and refusals all set cookies above.
    expect(cookieAnswers.length).toBeGreaterThanOrEqual(10);
    const careless = cookieAnswers.filter((answer) => answer.cacheControl !== "private, no-store");
    expect(careless).toEqual([]);
  });
});

// @module-tag chromium
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./browser.js";
import { freePort, type NodeProcess, startNodeProcess } from "./server-process.js";

// examples/nextjs as its README runs it: `next build`, then `next start` on a loopback port
// the OS gave, its SQLite file in a fresh directory, 5-second access tokens, and a grace
// window short enough to wait out.
const EXAMPLE = fileURLToPath(new URL("../examples/nextjs/", import.meta.url));
const NEXT = fileURLToPath(new URL("../node_modules/next/dist/bin/next", import.meta.url));
const TTL = 5;
const GRACE = 8;
const ADMIN_TOKEN = "admin-token-for-the-nextjs-example";
/** A production build on a busy 2-core machine takes about a minute; this bounds a stuck one. */
const BUILD_MS = 240_000;

const ACCESS = "__Host-prolong-at";
const REFRESH = "__Host-prolong-rt";

const USERS = {
  maryo: { password: "correct horse battery", id: "user-42", name: "Maryo" },
  ada: { password: "analytical engine", id: "user-7", name: "Ada" },
} as const;
type Username = keyof typeof USERS;

/** `next build` in the example's folder; fails with what it printed. */
function nextBuild(): Promise<void> {
  return new Promise((resolve, reject) => {
    // A process group of its own, so a stuck build is killed with its workers.
    const child = spawn(process.execPath, [NEXT, "build"], {
      cwd: EXAMPLE,
      env: { PATH: process.env.PATH ?? "", NEXT_TELEMETRY_DISABLED: "1" },
      detached: true,
    });
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
    });
    child.stderr.on("data", (chunk) => {
      out += chunk;
    });
    const timer = setTimeout(() => {
      if (child.pid) process.kill(-child.pid, "SIGKILL");
      reject(new Error(`next build took over ${BUILD_MS / 1000} s:\n${out}`));
    }, BUILD_MS);
    child.once("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`next build exited with ${code}:\n${out}`));
    });
  });
}

let app: NodeProcess;
let base: string;
let issuer: string;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  const [, port, launched] = await Promise.all([nextBuild(), freePort(), launchChromium()]);
  browser = launched;
  base = `http://127.0.0.1:${port}`;
  issuer = `${base}/auth`;
  // Run from a fresh directory, which holds ./data/prolong.db and goes when it stops.
  app = await startNodeProcess(
    [NEXT, "start", EXAMPLE, "--port", String(port), "--hostname", "127.0.0.1"],
    {
      NEXT_TELEMETRY_DISABLED: "1",
      PROLONG_ISSUER: issuer,
      PROLONG_STORE: "sqlite:./data/prolong.db",
      PROLONG_ACCESS_TOKEN_TTL: String(TTL),
      PROLONG_GRACE_WINDOW: String(GRACE),
      PROLONG_ADMIN_TOKEN: ADMIN_TOKEN,
    },
    /Ready in/,
  );
}, BUILD_MS + 60_000);

afterAll(async () => {
  await Promise.all(contexts.map((context) => context.close()));
  await browser?.close();
  await app?.stop();
});

/** Every answer that set a cookie, seen by a browser or fetched by a test, with its Cache-Control. */
const cookieAnswers: { url: string; status: number; cacheControl: string | undefined }[] = [];
const pendingHeaders: Promise<void>[] = [];

function noteCookies(url: string, status: number, headers: Record<string, string>): void {
  if (headers["set-cookie"] !== undefined) {
    cookieAnswers.push({ url, status, cacheControl: headers["cache-control"] });
  }
}

/** A browser of its own (its own cookie jar), JavaScript on or off. */
async function device(javaScriptEnabled: boolean): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ javaScriptEnabled, baseURL: base });
  contexts.push(context);
  context.on("response", (response) => {
    pendingHeaders.push(
      response
        .allHeaders()
        .then((headers) => noteCookies(response.url(), response.status(), headers))
        .catch(() => {}),
    );
  });
  return { context, page: await context.newPage() };
}

/** A request from the test itself, outside any browser, its cookies noted as the browsers' are. */
async function get(path: string, cookie: string): Promise<Response> {
  const response = await fetch(`${base}${path}`, { headers: { cookie }, redirect: "manual" });
  noteCookies(response.url, response.status, Object.fromEntries(response.headers));
  return response;
}

/** The app's own login form, filled in and sent; answers the HTML of the page it led to. */
async function signIn(page: Page, user: Username, deviceName: string): Promise<string> {
  await page.goto("/login");
  await page.fill('input[name="username"]', user);
  await page.fill('input[name="password"]', USERS[user].password);
  await page.fill('input[name="device"]', deviceName);
  const [landed] = await Promise.all([
    page.waitForResponse((response) => response.request().isNavigationRequest() && response.status() === 200),
    page.click('button[type="submit"]'),
  ]);
  return landed.text();
}

async function cookieOf(context: BrowserContext, name: string): Promise<string | undefined> {
  return (await context.cookies(base)).find((cookie) => cookie.name === name)?.value;
}

const claimsOf = (token: string) =>
  JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString()) as {
    sub: string;
    sid: string;
    exp: number;
    rfa: number;
  };

/** The claims of the access token the browser holds now. */
async function accessClaims(context: BrowserContext) {
  const token = await cookieOf(context, ACCESS);
  if (!token) throw new Error("the browser holds no access cookie");
  return claimsOf(token);
}

/** The session's row in the store: how many times its refresh token rotated, whether it was revoked. */
function storedSession(sessionId: string): { generation: number; revoked_reason: string | null } {
  const db = new Database(join(app.dir, "data/prolong.db"), { readonly: true, fileMustExist: true });
  try {
    return db.prepare("SELECT generation, revoked_reason FROM sessions WHERE id = ?").get(sessionId) as {
      generation: number;
      revoked_reason: string | null;
    };
  } finally {
    db.close();
  }
}

/** The security events prolong recorded for a session (admin API). */
async function eventsOf(sessionId: string): Promise<string[]> {
  const response = await fetch(`${issuer}/admin/events?session=${sessionId}`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  expect(response.status).toBe(200);
  const { events } = (await response.json()) as { events: { type: string }[] };
  return events.map((event) => event.type);
}

const sleepUntil = (at: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));

/** The page is the login form: where a signed-out request for a protected page lands. */
const LOGIN = "Sign in";
/** The page's heading: `Hello, Maryo` on the home page, `Sign in` on the login form. */
const headingOf = (html = "") => /<h1>(.*?)<\/h1>/.exec(html)?.[1] ?? html.slice(0, 200);
/** The heading of the first HTML a navigation got (after redirects). */
const headingAt = async (page: Page, path: string) => headingOf(await (await page.goto(path))?.text());
const greeting = (user: Username) => `Hello, ${USERS[user].name}`;

describe("examples/nextjs, built and started", () => {
  it("builds its middleware for the Edge runtime, with @prolong/verify's Web Crypto backend", () => {
    const built = (path: string) => readFileSync(join(EXAMPLE, ".next/server", path), "utf8");
    const manifest = JSON.parse(built("middleware-manifest.json")) as {
      middleware: Record<string, { files: string[] }>;
    };
    // Next lists Edge middleware here; Node-runtime middleware would not be.
    expect(manifest.middleware["/"]?.files).toContain("server/middleware.js");
    const bundle = built("middleware.js");
    expect(bundle).toContain("crypto.subtle.verify");
    expect(bundle).not.toContain("node:crypto");
  });

  it("with JavaScript off, the login form signs each user in and the first HTML already shows them", async () => {
    const maryo = await device(false);
    const ada = await device(false);
    const nobody = await device(false);

    // Signed out: the login page, never a protected one.
    const anonymous = await nobody.page.goto("/");
    expect(new URL(nobody.page.url()).pathname).toBe("/login");
    expect(headingOf(await anonymous?.text())).toBe(LOGIN);
    expect((await nobody.context.request.get("/api/me")).status()).toBe(401);
    const wrong = await get("/devices", "");
    expect(wrong.status).toBeGreaterThanOrEqual(300);
    expect(wrong.status).toBeLessThan(400);
    expect(new URL(wrong.headers.get("location") ?? "", base).pathname).toBe("/login");

    // A wrong password sets nothing and shows the form again.
    await nobody.page.goto("/login");
    await nobody.page.fill('input[name="username"]', "maryo");
    await nobody.page.fill('input[name="password"]', "not the password");
    await nobody.page.click('button[type="submit"]');
    expect(await nobody.page.textContent('[role="alert"]')).toContain("Wrong username or password");
    expect(await nobody.context.cookies(base)).toEqual([]);

    const first = await signIn(maryo.page, "maryo", "laptop");
    expect(headingOf(first)).toBe(greeting("maryo"));
    expect(first).toContain(USERS.maryo.id);
    const adaFirst = await signIn(ada.page, "ada", "phone");
    expect(headingOf(adaFirst)).toBe(greeting("ada"));
    expect(adaFirst).not.toContain(USERS.maryo.name);

    // Both cookies are httpOnly: no script of the page can read them.
    for (const cookie of await maryo.context.cookies(base)) {
      if (cookie.name === ACCESS || cookie.name === REFRESH) expect(cookie.httpOnly).toBe(true);
    }
    expect(await cookieOf(maryo.context, REFRESH)).toBeTruthy();

    // Interleaved renders each show their own user, and the API answers for its own.
    for (let round = 0; round < 3; round += 1) {
      const [own, other, none] = await Promise.all([
        maryo.context.request.get("/"),
        ada.context.request.get("/"),
        nobody.context.request.get("/"),
      ]);
      expect(headingOf(await own.text())).toBe(greeting("maryo"));
      const adaHtml = await other.text();
      expect(headingOf(adaHtml)).toBe(greeting("ada"));
      expect(adaHtml).not.toContain(USERS.maryo.id);
      expect(headingOf(await none.text())).toBe(LOGIN);
    }
    const me = await maryo.context.request.get("/api/me");
    expect(me.status()).toBe(200);
    expect(await me.json()).toMatchObject({ id: USERS.maryo.id, name: "Maryo" });
    expect(await (await ada.context.request.get("/api/me")).json()).toMatchObject({ id: USERS.ada.id });

    // The device list is rendered from prolong's GET /auth/sessions.
    await maryo.page.goto("/devices");
    expect(await maryo.page.textContent("main")).toContain("laptop (this device)");
  });

  it("5 s tokens: bursts of navigations, fetches and prefetches as the token passes rfa and exp renew it once each, with no 401 and no sign-out", async () => {
    const { context, page } = await device(true);
    await signIn(page, "maryo", "busy tab");
    const sessionId = (await accessClaims(context)).sid;
    const navigator = await context.newPage();
    await navigator.goto("/");

    /**
     * From `from` to `to`, fires three requests every 150 ms (the API route, a
     * server-component fetch of `/`, a prefetch of `/devices`) while another tab of the same
     * browser navigates to `/devices` and back; answers every status (0 for a request that
     * was sent on to the login page).
     */
    async function burst(from: number, to: number): Promise<number[]> {
      const fired: Promise<number[]>[] = [];
      await sleepUntil(from);
      const navigations = (async () => {
        const html: string[] = [];
        for (const path of ["/devices", "/"]) html.push((await (await navigator.goto(path))?.text()) ?? "");
        return html;
      })();
      for (let at = from; at < to; at += 150) {
        await sleepUntil(at);
        fired.push(
          page.evaluate(() => {
            const status = (response: Response) => (response.redirected ? 0 : response.status);
            return Promise.all([
              fetch("/api/me").then(status),
              fetch("/", { headers: { RSC: "1" } }).then(status),
              fetch("/devices", { headers: { RSC: "1", "Next-Router-Prefetch": "1" } }).then(status),
            ]);
          }),
        );
      }
      const [devices, home] = await navigations;
      expect(devices).toContain("(this device)");
      expect(headingOf(home)).toBe(greeting("maryo"));
      return (await Promise.all(fired)).flat();
    }

    // Across `rfa`: the first requests past it renew, those before and after do not.
    let before = storedSession(sessionId).generation;
    const claims = await accessClaims(context);
    const acrossRfa = await burst(claims.rfa * 1000 - 600, claims.rfa * 1000 + 600);
    expect(acrossRfa.filter((status) => status !== 200)).toEqual([]);
    expect(storedSession(sessionId).generation - before).toBe(1);

    // Quiet until the renewed token has expired and the browser dropped its cookie: the
    // first wave arrives in parallel with the refresh cookie alone, and each render needs
    // the token its renewal brought.
    before = storedSession(sessionId).generation;
    const renewed = await accessClaims(context);
    expect(renewed.exp).toBeGreaterThan(claims.exp);
    const afterExp = await burst(renewed.exp * 1000 + 1000, renewed.exp * 1000 + 2200);
    expect(afterExp.filter((status) => status !== 200)).toEqual([]);
    expect(storedSession(sessionId).generation - before).toBe(1);

    expect(storedSession(sessionId).revoked_reason).toBeNull();
    expect(await eventsOf(sessionId)).toEqual(["signed_in"]);
    expect(await (await context.request.get("/api/me")).json()).toMatchObject({ session: sessionId });
  });

  it("a straggler's refresh cookie inside the grace window leaves the session be; after it, the session is revoked", async () => {
    const { context, page } = await device(false);
    await signIn(page, "ada", "slow tab");
    const sessionId = (await accessClaims(context)).sid;
    const oldest = (await cookieOf(context, REFRESH)) as string;
    const start = storedSession(sessionId).generation;

    // Two renewals (no access cookie: the middleware renews at once): the browser holds the
    // successor's successor, so `oldest` is two rotations old.
    for (let renewal = 1; renewal <= 2; renewal += 1) {
      await context.clearCookies({ name: ACCESS });
      expect(await headingAt(page, "/")).toBe(greeting("ada"));
      expect(storedSession(sessionId).generation).toBe(start + renewal);
    }
    const renewedAt = Date.now();

    // Inside the grace window: a render for it, an access cookie and no refresh cookie.
    const straggler = await get("/", `${REFRESH}=${oldest}`);
    expect(straggler.status).toBe(200);
    expect(headingOf(await straggler.text())).toBe(greeting("ada"));
    const set = straggler.headers.getSetCookie();
    expect(set.some((cookie) => cookie.startsWith(`${ACCESS}=`))).toBe(true);
    expect(set.some((cookie) => cookie.startsWith(`${REFRESH}=`))).toBe(false);
    expect(storedSession(sessionId)).toEqual({ generation: start + 2, revoked_reason: null });
    // The browser's own cookies still work.
    expect(await headingAt(page, "/")).toBe(greeting("ada"));

    // After the window (counted from the latest rotation) the same cookie is a stolen copy's.
    await sleepUntil(renewedAt + (GRACE + 1) * 1000);
    const late = await get("/", `${REFRESH}=${oldest}`);
    expect(late.status).toBeGreaterThanOrEqual(300);
    expect(new URL(late.headers.get("location") ?? "", base).pathname).toBe("/login");
    expect(storedSession(sessionId).revoked_reason).toBe("reuse");
    expect(await eventsOf(sessionId)).toContain("reuse_detected");
    // The browser's own next render is signed out too: its access cookie has expired by now.
    expect(await headingAt(page, "/")).toBe(LOGIN);
  });

  it("sign-out on one device signs its next render out; a revocation from another device reaches the render within one token lifetime", async () => {
    const laptop = await device(true);
    const phone = await device(true);
    const tablet = await device(false);
    await signIn(laptop.page, "maryo", "laptop");
    await signIn(phone.page, "maryo", "phone");
    expect(headingOf(await signIn(tablet.page, "maryo", "tablet"))).toBe(greeting("maryo"));
    const tabletSession = (await accessClaims(tablet.context)).sid;

    // The tablet signs itself out with the form: cookies cleared, its next render signed out.
    // Its access cookie is gone first, so the middleware renews on the sign-out request
    // itself: the route's cleared cookies must still be the last word.
    await tablet.page.goto("/");
    await tablet.context.clearCookies({ name: ACCESS });
    const rotations = storedSession(tabletSession).generation;
    await tablet.page.click('form[action="/logout"] button');
    expect(new URL(tablet.page.url()).pathname).toBe("/login");
    expect(await tablet.context.cookies(base)).toEqual([]);
    expect(storedSession(tabletSession)).toEqual({ generation: rotations + 1, revoked_reason: "logout" });
    expect(await headingAt(tablet.page, "/")).toBe(LOGIN);

    // The phone signs the laptop out from its device list.
    const laptopSession = (await accessClaims(laptop.context)).sid;
    await phone.page.goto("/devices");
    await phone.page.click(`li[data-session="${laptopSession}"] button`);
    await phone.page.waitForURL(`${base}/devices`);
    const revokedAt = Date.now();
    expect(await phone.page.locator(`li[data-session="${laptopSession}"]`).count()).toBe(0);

    // The laptop's renders go on until its access token must be renewed, then it is signed out.
    let signedOutAfter = -1;
    for (let attempt = 0; attempt < 2 * (TTL + 3); attempt += 1) {
      const html = (await (await laptop.page.goto("/"))?.text()) ?? "";
      if (headingOf(html) === LOGIN) {
        signedOutAfter = Date.now() - revokedAt;
        break;
      }
      expect(headingOf(html)).toBe(greeting("maryo"));
      await sleepUntil(Date.now() + 500);
    }
    expect(signedOutAfter).toBeGreaterThanOrEqual(0);
    expect(signedOutAfter).toBeLessThan((TTL + 1.5) * 1000);
    expect(await cookieOf(laptop.context, REFRESH)).toBeUndefined();
    // The phone is still signed in.
    expect(await headingAt(phone.page, "/")).toBe(greeting("maryo"));
  });

  it("every answer that set a cookie said Cache-Control: private, no-store", async () => {
    // A renewal on a page Next renders statically too: its 404 page.
    const { context, page } = await device(false);
    await signIn(page, "ada", "lost tab");
    await context.clearCookies({ name: ACCESS });
    expect((await page.goto("/no-such-page"))?.status()).toBe(404);
    expect(await cookieOf(context, ACCESS)).toBeTruthy();

    await Promise.all(pendingHeaders);
    // Logins, the middleware's renewals (page renders, API calls), straggler and sign-out answers.
    const paths = new Set(cookieAnswers.map((answer) => new URL(answer.url).pathname));
    expect(paths).toContain("/login/password");
    expect(paths).toContain("/logout");
    expect(paths).toContain("/");
    expect(paths).toContain("/no-such-page");
    const cacheable = cookieAnswers.filter((answer) => {
      const directives = (answer.cacheControl ?? "").split(",").map((directive) => directive.trim());
      return !(directives.includes("private") && directives.includes("no-store"));
    });
    expect(cacheable).toEqual([]);
  });
});

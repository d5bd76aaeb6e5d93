// @module-tag chromium
import { type ChildProcessWithoutNullStreams, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import Database from "better-sqlite3";
import type { Browser, BrowserContext, BrowserContextOptions, Page, Response } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./browser.js";
import { freePort } from "./server-process.js";

// examples/react-router as production runs it: `react-router build`, then
// `react-router-serve` on a loopback port, its SQLite file in a fresh directory, with
// 5-second access tokens so a test crosses `rfa` and `exp` several times, and a short
// grace window so a straggler can be sent both inside and after it.
const TTL = 5;
const GRACE = 3;
const ADMIN_TOKEN = "admin-token-of-the-react-router-test";
const ACCESS_COOKIE = "__Host-prolong-at";
const REFRESH_COOKIE = "__Host-prolong-rt";
const USERS = {
  maryo: { password: "correct horse battery", name: "Maryo", id: "user-42" },
  ada: { password: "analytical engine", name: "Ada", id: "user-7" },
} as const;

const exampleDir = fileURLToPath(new URL("../examples/react-router/", import.meta.url));
const requireHere = createRequire(join(exampleDir, "package.json"));
const binOf = (name: string) => join(dirname(requireHere.resolve(`${name}/package.json`)), "bin.js");

let browser: Browser;
let app: ChildProcessWithoutNullStreams;
let origin: string;
let dataDir: string;
let db: Database.Database;

/**
 * `react-router-serve build/server/index.js` in the example's directory (it serves the
 * client assets from `build/client` under its working directory) on a loopback port;
 * resolves once it listens, fails with what it printed if it exits or stays silent 20 s.
 */
async function serve(port: number, env: Record<string, string>): Promise<ChildProcessWithoutNullStreams> {
  const child = spawn(process.execPath, [binOf("@react-router/serve"), "build/server/index.js"], {
    cwd: exampleDir,
    env: {
      PATH: process.env.PATH ?? "",
      NODE_ENV: "production",
      HOST: "127.0.0.1",
      PORT: String(port),
      ...env,
    },
  });
  let output = "";
  child.stdout.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr.on("data", (chunk) => {
    output += chunk;
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`react-router-serve did not start: ${output}`)), 20_000);
    child.stdout.on("data", () => {
      if (output.includes("[react-router-serve] http://")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => reject(new Error(`react-router-serve exited with ${code}: ${output}`)));
  });
  return child;
}

/**
 * The built example served on a free loopback port, prolong's SQLite file in a fresh
 * directory (removed again if it does not start), with these settings besides.
 */
async function startExample(
  env: Record<string, string>,
): Promise<{ child: ChildProcessWithoutNullStreams; origin: string; dataDir: string }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "prolong-react-router-"));
  const at = `http://127.0.0.1:${port}`;
  try {
    const child = await serve(port, {
      PROLONG_ISSUER: `${at}/auth`,
      PROLONG_STORE: `sqlite:${join(dir, "prolong.db")}`,
      ...env,
    });
    return { child, origin: at, dataDir: dir };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Stops the server (SIGTERM) and waits until it has gone. */
function stop(child: ChildProcessWithoutNullStreams): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

/** Every response the browsers and the test's own requests saw with a `Set-Cookie`, and its `Cache-Control`. */
const cookieResponses: { url: string; cacheControl: string | null }[] = [];

beforeAll(async () => {
  await promisify(execFile)(process.execPath, [binOf("@react-router/dev"), "build"], {
    cwd: exampleDir,
    env: { PATH: process.env.PATH ?? "", NODE_ENV: "production" },
    timeout: 170_000,
  });
  ({
    child: app,
    origin,
    dataDir,
  } = await startExample({
    PROLONG_ADMIN_TOKEN: ADMIN_TOKEN,
    ACCESS_TOKEN_TTL: String(TTL),
    GRACE_WINDOW: String(GRACE),
  }));
  db = new Database(join(dataDir, "prolong.db"), { readonly: true, fileMustExist: true });
  browser = await launchChromium();
}, 240_000);

afterAll(async () => {
  db?.close();
  await browser?.close();
  if (app) await stop(app);
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** A browser context whose responses with a `Set-Cookie` are recorded. */
async function newContext(options: BrowserContextOptions = {}): Promise<BrowserContext> {
  const context = await browser.newContext(options);
  context.on("response", (response: Response) => {
    void response.allHeaders().then(
      (headers) => {
        if (headers["set-cookie"] !== undefined) {
          cookieResponses.push({ url: response.url(), cacheControl: headers["cache-control"] ?? null });
        }
      },
      () => undefined, // the page went away before the headers were read
    );
  });
  return context;
}

/** A request from the test itself (a stolen or stale cookie), recorded like the browsers' answers. */
async function request(
  path: string,
  cookie: string | null,
  init: RequestInit = {},
): Promise<globalThis.Response> {
  const headers = new Headers(init.headers);
  if (cookie !== null) headers.set("cookie", cookie);
  const response = await fetch(`${origin}${path}`, { redirect: "manual", ...init, headers });
  if (response.headers.getSetCookie().length > 0) {
    cookieResponses.push({ url: response.url, cacheControl: response.headers.get("cache-control") });
  }
  return response;
}

/**
 * Signs in by the app's login form (of the server at `at`); resolves with the HTML of the
 * first render of the protected page the login redirects to: with JavaScript off, the
 * document as the server sent it; with it on, the page once rendered.
 */
async function signIn(
  page: Page,
  username: keyof typeof USERS,
  device: string,
  javaScript = false,
  at = origin,
): Promise<string> {
  await page.goto(`${at}/login`);
  await page.fill('input[name="username"]', username);
  await page.fill('input[name="password"]', USERS[username].password);
  await page.fill('input[name="deviceName"]', device);
  if (javaScript) {
    await page.click('#login button[type="submit"]');
    await page.waitForSelector("html[data-hydrated] #user");
    return page.content();
  }
  const [firstRender] = await Promise.all([
    page.waitForResponse(
      (response) => response.url() === `${at}/` && response.request().resourceType() === "document",
    ),
    page.click('#login button[type="submit"]'),
  ]);
  return firstRender.text();
}

/** The claims of the browser's access cookie and its refresh cookie (for `at`), as the browser holds them. */
async function cookiesOf(context: BrowserContext, at = origin) {
  const cookies = await context.cookies(at);
  const access = cookies.find((cookie) => cookie.name === ACCESS_COOKIE)?.value ?? null;
  const refresh = cookies.find((cookie) => cookie.name === REFRESH_COOKIE)?.value ?? null;
  const claims =
    access === null
      ? null
      : (JSON.parse(Buffer.from(access.split(".")[1] as string, "base64url").toString()) as {
          sid: string;
          sub: string;
          iat: number;
          rfa: number;
          exp: number;
        });
  return { access, refresh, claims };
}

/** How many times the session's refresh token has rotated, as the store counts it. */
const generationOf = (sessionId: string) => sessionRow(sessionId).generation;

/** The session's row in the store: how often it rotated, and whether it has ended. */
function sessionRow(sessionId: string): { generation: number; revoked: boolean } {
  const row = db.prepare("SELECT generation, revoked_at FROM sessions WHERE id = ?").get(sessionId) as
    | { generation: number; revoked_at: number | null }
    | undefined;
  if (!row) throw new Error(`no session ${sessionId} in the store`);
  return { generation: row.generation, revoked: row.revoked_at !== null };
}

/** The security events the admin API reports for a session. */
async function eventsOf(sessionId: string): Promise<{ type: string }[]> {
  const response = await fetch(`${origin}/auth/admin/events?session=${encodeURIComponent(sessionId)}`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { events: { type: string }[] }).events;
}

/** prolong's `DELETE /auth/sessions/:id` with the access token `device` holds: signs that session out. */
async function revokeFrom(
  device: BrowserContext,
  sessionId: string,
  at = origin,
): Promise<globalThis.Response> {
  const { access } = await cookiesOf(device, at);
  return fetch(`${at}/auth/sessions/${encodeURIComponent(sessionId)}`, {
    method: "DELETE",
    headers: { authorization: `Bearer ${access}` },
  });
}

/** Waits until the wall clock passes `epochSeconds` (a claim), plus `extraMs`. */
async function until(page: Page, epochSeconds: number, extraMs = 0): Promise<void> {
  const wait = epochSeconds * 1000 + extraMs - Date.now();
  if (wait > 0) await page.waitForTimeout(wait);
}

describe("examples/react-router, built and served", () => {
  it("with JavaScript off, the form signs in and the first HTML shows the user; signed out gets the login page", async () => {
    const maryo = await newContext({ javaScriptEnabled: false });
    const ada = await newContext({ javaScriptEnabled: false });
    const nobody = await newContext({ javaScriptEnabled: false });
    try {
      const maryoPage = await maryo.newPage();
      const adaPage = await ada.newPage();
      const maryoHtml = await signIn(maryoPage, "maryo", "Maryo's laptop");
      const adaHtml = await signIn(adaPage, "ada", "Ada's phone");
      expect(maryoHtml).toContain('Signed in as <span id="user">Maryo</span>');
      expect(adaHtml).toContain('Signed in as <span id="user">Ada</span>');
      expect(adaHtml).not.toContain("Maryo");

      // Each browser gets its own user's page again on a later request.
      const again = await adaPage.goto(`${origin}/`);
      expect(await again?.text()).toContain('<span id="user">Ada</span>');
      // A page rendered for a user is theirs: no shared cache may keep it, cookies or not.
      expect(again?.headers()["cache-control"]).toBe("private, no-store");
      const api = await adaPage.goto(`${origin}/api/me`);
      expect(api?.status()).toBe(200);
      expect(await api?.json()).toMatchObject({ id: USERS.ada.id, name: "Ada" });

      // A browser without cookies: the login page, never someone's page.
      const nobodyPage = await nobody.newPage();
      const signedOut = await nobodyPage.goto(`${origin}/`);
      expect(new URL(nobodyPage.url()).pathname).toBe("/login");
      const html = (await signedOut?.text()) ?? "";
      expect(html).toContain("Sign in");
      expect(html).not.toMatch(/Maryo|Ada/);
      const deniedApi = await nobodyPage.goto(`${origin}/api/me`);
      expect(deniedApi?.status()).toBe(401);
      expect(await deniedApi?.json()).toMatchObject({ error: "unauthorized" });

      // And the same from outside a browser: a redirect to the login page, a 401 from the API.
      const bare = await request("/", null);
      expect(bare.status).toBe(302);
      expect(bare.headers.get("location")).toBe("/login");
      expect((await request("/api/me", null)).status).toBe(401);

      // A wrong password is refused by the app's own login, and starts no session.
      await nobodyPage.goto(`${origin}/login`);
      await nobodyPage.fill('input[name="username"]', "maryo");
      await nobodyPage.fill('input[name="password"]', "wrong");
      await nobodyPage.click('#login button[type="submit"]');
      await nobodyPage.waitForSelector("#login-error");
      expect((await cookiesOf(nobody)).refresh).toBeNull();
    } finally {
      await Promise.all([maryo.close(), ada.close(), nobody.close()]);
    }
  }, 60_000);

  it("navigations and parallel fetches as the token passes rfa and exp: no 401, no sign-out, one rotation per burst", async () => {
    const context = await newContext();
    const statuses: { url: string; status: number; cacheControl: string | null }[] = [];
    context.on("response", (response) => {
      if (response.url().startsWith(origin)) {
        const cacheControl = response.headers()["cache-control"] ?? null;
        statuses.push({ url: response.url(), status: response.status(), cacheControl });
      }
    });
    try {
      const page = await context.newPage();
      await signIn(page, "maryo", "Burst laptop", true);
      const signedInFrom = statuses.length;
      const first = await cookiesOf(context);
      const sessionId = first.claims?.sid as string;
      expect(sessionId).toBeTruthy();
      const rotationsPerBurst: number[] = [];

      /** Navigations, API fetches and a route-data prefetch, all at once. */
      const burst = async () => {
        const before = generationOf(sessionId);
        const [fetched] = await Promise.all([
          page.evaluate(() =>
            Promise.all(
              [
                ...Array.from({ length: 6 }, () => "/api/me"),
                "/devices.data",
                "/_root.data",
                "/api/me?again",
              ].map((path) => fetch(path).then((response) => response.status)),
            ),
          ),
          // Hovering prefetches the page's data (`prefetch="intent"`), then the click navigates.
          page
            .hover("#to-devices")
            .then(() => page.click("#to-devices"))
            .then(() => page.waitForSelector("#devices")),
        ]);
        expect(fetched).toEqual(fetched.map(() => 200));
        await page.goto(`${origin}/`);
        await page.waitForSelector("html[data-hydrated] #user");
        expect(await page.textContent("#user")).toBe("Maryo");
        rotationsPerBurst.push(generationOf(sessionId) - before);
      };

      // Three token lifetimes: a burst just past each token's rfa, and one just past the next token's exp.
      for (let round = 0; round < 3; round++) {
        const { claims } = await cookiesOf(context);
        if (!claims) throw new Error("the browser holds no access cookie");
        await until(page, round % 2 === 0 ? claims.rfa : claims.exp, 150);
        await burst();
      }

      // Each burst came after its token was due: each renewed it, once.
      expect(rotationsPerBurst).toEqual([1, 1, 1]);
      expect(statuses.filter(({ status }) => status === 401)).toEqual([]);
      // Every page, data and API answer to the signed-in user was private (the scripts
      // under /assets and React Router's route manifest are the same for everyone).
      const answers = statuses
        .slice(signedInFrom)
        .filter(({ url }) => !/^\/(assets\/|__manifest$)/.test(new URL(url).pathname));
      expect(answers.length).toBeGreaterThan(20);
      expect(answers.filter(({ cacheControl }) => cacheControl !== "private, no-store")).toEqual([]);
      expect(new URL(page.url()).pathname).toBe("/");
      expect((await eventsOf(sessionId)).map((event) => event.type)).not.toContain("reuse_detected");
    } finally {
      await context.close();
    }
  }, 90_000);

  it("an old refresh cookie inside the grace window keeps the session (replay and straggler); after it, revokes it", async () => {
    const context = await newContext({ javaScriptEnabled: false });
    try {
      const page = await context.newPage();
      await signIn(page, "ada", "Straggling tablet");
      const sessionId = (await cookiesOf(context)).claims?.sid as string;

      /** The browser renews (its access cookie gone) and goes on with the new refresh cookie. */
      const renewInBrowser = async () => {
        const before = (await cookiesOf(context)).refresh;
        await context.clearCookies({ name: ACCESS_COOKIE });
        await page.goto(`${origin}/`);
        expect(await page.textContent("#user")).toBe("Ada");
        const after = (await cookiesOf(context)).refresh;
        expect(after).not.toBe(before);
        return before as string;
      };
      const straggler = await renewInBrowser();
      const previous = await renewInBrowser();
      const current = (await cookiesOf(context)).refresh as string;
      const rotatedAt = Date.now();
      const generation = generationOf(sessionId);

      // Requests still holding an older refresh cookie, sent after the browser used its
      // successor, inside the window: still Ada's page. The previous cookie gets the same
      // successor the browser holds; the one before it, an access cookie only.
      const replay = await request("/", `${REFRESH_COOKIE}=${previous}`);
      expect(replay.status).toBe(200);
      expect(await replay.text()).toContain('<span id="user">Ada</span>');
      expect(replay.headers.getSetCookie().filter((c) => c.startsWith(`${REFRESH_COOKIE}=`))).toEqual([
        expect.stringMatching(new RegExp(`^${REFRESH_COOKIE}=${current};`)),
      ]);
      const late = await request("/", `${REFRESH_COOKIE}=${straggler}`);
      expect(late.status).toBe(200);
      expect(await late.text()).toContain('<span id="user">Ada</span>');
      const set = late.headers.getSetCookie();
      expect(set.some((cookie) => cookie.startsWith(`${ACCESS_COOKIE}=`))).toBe(true);
      expect(set.some((cookie) => cookie.startsWith(`${REFRESH_COOKIE}=`))).toBe(false);
      expect(Date.now() - rotatedAt).toBeLessThan(GRACE * 1000);
      expect(generationOf(sessionId)).toBe(generation);
      expect((await eventsOf(sessionId)).map((event) => event.type)).not.toContain("reuse_detected");
      // The browser goes on with its own cookies, untouched by either.
      await page.goto(`${origin}/`);
      expect(await page.textContent("#user")).toBe("Ada");
      expect((await cookiesOf(context)).refresh).toBe(current);

      // The straggler's cookie once the window has passed: a replay, and the session ends everywhere.
      await page.waitForTimeout(GRACE * 1000 + 500);
      const replayed = await request("/", `${REFRESH_COOKIE}=${straggler}`);
      expect(replayed.status).toBe(302);
      expect(replayed.headers.get("location")).toBe("/login");
      expect((await eventsOf(sessionId)).map((event) => event.type)).toContain("reuse_detected");
      await context.clearCookies({ name: ACCESS_COOKIE });
      await page.goto(`${origin}/`);
      expect(new URL(page.url()).pathname).toBe("/login");
    } finally {
      await context.close();
    }
  }, 60_000);

  it("sign-out ends this device's server render; a device signed out from another is signed out within one token lifetime", async () => {
    const laptop = await newContext({ javaScriptEnabled: false });
    const phone = await newContext({ javaScriptEnabled: false });
    const tablet = await newContext();
    try {
      const laptopPage = await laptop.newPage();
      const phonePage = await phone.newPage();
      const tabletPage = await tablet.newPage();
      await signIn(laptopPage, "maryo", "Laptop");
      await signIn(phonePage, "maryo", "Phone");
      await signIn(tabletPage, "maryo", "Tablet", true);
      const laptopSession = (await cookiesOf(laptop)).claims?.sid as string;
      const tabletSession = (await cookiesOf(tablet)).claims?.sid as string;

      // The laptop signs out by the form once its token is due, so the same request first
      // renews (the middleware) and then revokes (the action): the session ends at the
      // server all the same, and the laptop's next render is the login page.
      const laptopToken = (await cookiesOf(laptop)).claims;
      await until(laptopPage, laptopToken?.rfa as number, 150);
      const generation = generationOf(laptopSession);
      await laptopPage.click("#signout");
      await laptopPage.waitForURL(`${origin}/login`);
      expect(sessionRow(laptopSession)).toMatchObject({ generation: generation + 1, revoked: true });
      expect(await cookiesOf(laptop)).toMatchObject({ access: null, refresh: null });
      await laptopPage.goto(`${origin}/`);
      expect(new URL(laptopPage.url()).pathname).toBe("/login");

      // The phone's device list, rendered on the server, no longer has the laptop; it signs the tablet out.
      await phonePage.goto(`${origin}/devices`);
      const listed = await phonePage.$$eval("#devices li", (items) =>
        items.map((item) => ({
          id: item.getAttribute("data-session"),
          current: item.getAttribute("data-current"),
          name: item.querySelector(".device-name")?.textContent,
        })),
      );
      // (Maryo's sessions from the tests before are listed too.)
      const names = listed.map((device) => device.name);
      expect(names).toEqual(expect.arrayContaining(["Phone", "Tablet"]));
      expect(names).not.toContain("Laptop");
      expect(listed.find((device) => device.current === "true")?.name).toBe("Phone");
      expect(listed.map((device) => device.id)).not.toContain(laptopSession);
      const revokedAt = Date.now();
      await Promise.all([
        phonePage.waitForResponse(
          (response) =>
            response.url() === `${origin}/devices` &&
            response.request().resourceType() === "document" &&
            response.request().method() === "GET",
        ),
        phonePage.click(`#devices li[data-session="${tabletSession}"] button.revoke`),
      ]);
      const left = await phonePage.$$eval("#devices li", (items) =>
        items.map((item) => item.getAttribute("data-session")),
      );
      expect(left).not.toContain(tabletSession);
      expect(left).toContain((await cookiesOf(phone)).claims?.sid);

      // The tablet's render is signed out once its access token lapses, within one lifetime.
      let signedOutAfter: number | null = null;
      for (let attempt = 0; attempt < 4 * TTL && signedOutAfter === null; attempt++) {
        await tabletPage.goto(`${origin}/`);
        if (new URL(tabletPage.url()).pathname === "/login") signedOutAfter = Date.now() - revokedAt;
        else await tabletPage.waitForTimeout(500);
      }
      expect(signedOutAfter).not.toBeNull();
      // Its token was issued before the revocation: it lapses within TTL of it (plus one poll).
      expect(signedOutAfter as number).toBeLessThanOrEqual(TTL * 1000 + 1500);
      // The phone is untouched.
      await phonePage.goto(`${origin}/`);
      expect(await phonePage.textContent("#user")).toBe("Maryo");
    } finally {
      await Promise.all([laptop.close(), phone.close(), tablet.close()]);
    }
  }, 60_000);

  it("without the revocation feed, a device signed out from another still renders signed in while its token is good", async () => {
    const laptop = await newContext({ javaScriptEnabled: false });
    const phone = await newContext({ javaScriptEnabled: false });
    try {
      const laptopPage = await laptop.newPage();
      await signIn(await phone.newPage(), "maryo", "Unfed phone");
      await signIn(laptopPage, "maryo", "Unfed laptop");
      const token = (await cookiesOf(laptop)).claims;
      const revoked = await revokeFrom(phone, token?.sid as string);
      expect(revoked.status).toBe(204);
      // Longer than the feed takes on the server of the next test, the token not yet due:
      // nothing tells this server of the revocation, so it still renders the laptop signed in.
      await laptopPage.waitForTimeout(1_500);
      await laptopPage.goto(`${origin}/`);
      expect(Date.now() / 1000).toBeLessThan(token?.rfa as number);
      expect(await laptopPage.textContent("#user")).toBe("Maryo");
    } finally {
      await Promise.all([laptop.close(), phone.close()]);
    }
  }, 30_000);

  it("with the revocation feed, a device signed out from another renders signed out within 2 s, long before its token is due", async () => {
    // A second server of the same build, its own store, whose verifier subscribes to the
    // feed; 60-second tokens, so neither expiry nor a renewal can sign the laptop out here.
    const FEED_TTL = 60;
    const fed = await startExample({
      ACCESS_TOKEN_TTL: String(FEED_TTL),
      PROLONG_RESOURCE_SECRET: "resource-secret-of-the-react-router-test",
    });
    const laptop = await newContext({ javaScriptEnabled: false });
    const phone = await newContext({ javaScriptEnabled: false });
    try {
      const laptopPage = await laptop.newPage();
      const phonePage = await phone.newPage();
      const laptopHtml = await signIn(laptopPage, "maryo", "Fed laptop", false, fed.origin);
      expect(laptopHtml).toContain('<span id="user">Maryo</span>');
      await signIn(phonePage, "maryo", "Fed phone", false, fed.origin);
      const token = (await cookiesOf(laptop, fed.origin)).claims;
      if (!token) throw new Error("the laptop holds no access cookie");

      const revoked = await revokeFrom(phone, token.sid, fed.origin);
      expect(revoked.status).toBe(204);
      const revokedAt = Date.now();
      // The laptop's protected page, every 100 ms, for at most 5 s.
      let signedOutAfter: number | null = null;
      while (signedOutAfter === null && Date.now() - revokedAt < 5_000) {
        await laptopPage.goto(`${fed.origin}/`);
        if (new URL(laptopPage.url()).pathname === "/login") signedOutAfter = Date.now() - revokedAt;
        else await laptopPage.waitForTimeout(100);
      }
      const seenAt = Date.now() / 1000;
      expect(signedOutAfter).not.toBeNull();
      expect(signedOutAfter as number).toBeLessThanOrEqual(2_000);
      // The feed did it: the token was still good and not yet due for renewal.
      expect(seenAt).toBeLessThan(token.rfa);
      expect(token.exp - seenAt).toBeGreaterThan(FEED_TTL / 2);
      // The phone is untouched.
      await phonePage.goto(`${fed.origin}/`);
      expect(await phonePage.textContent("#user")).toBe("Maryo");
    } finally {
      await Promise.all([laptop.close(), phone.close()]);
      // The open feed subscription does not hold the server up: it exits at once, and cleanly.
      const stopping = Date.now();
      await stop(fed.child);
      expect(Date.now() - stopping).toBeLessThan(5_000);
      expect(fed.child.exitCode).toBe(0);
      rmSync(fed.dataDir, { recursive: true, force: true });
    }
  }, 60_000);

  it("every response that set a cookie carried Cache-Control: private, no-store", async () => {
    // Let the last listeners read their headers.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(cookieResponses.length).toBeGreaterThan(10);
    expect(cookieResponses.filter(({ cacheControl }) => cacheControl !== "private, no-store")).toEqual([]);
  });
});

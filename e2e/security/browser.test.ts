// @module-tag chromium
import { createServer, type Server } from "node:http";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../browser.js";
import { freePort } from "../server-process.js";
import { FORM, REFRESH_COOKIE, startTarget, type Target, tokenRequest } from "./target.js";

/**
 * The web profile in real Chromium against a real server with the demo page: what the
 * refresh cookie looks like, whether another page can make the browser use it (CSRF), and
 * whether a token ever lands where script, storage or a URL could leak it. The attacker's
 * pages are served from `http://localhost:OTHER` (another origin on the same site, so the
 * SameSite=Strict cookie is sent and only the anti-CSRF check stands in the way) and from
 * `http://127.0.0.1:OTHER` (another site, where the cookie is not even sent).
 */

const HANDOFF = "urn:prolong:grant-type:handoff";

let target: Target;
let browser: Browser;
let attacker: { server: Server; port: number; hits: string[] };
/** Where the demo page and the issuer are: `http://localhost:PORT`. */
let issuer: string;

beforeAll(async () => {
  const port = await freePort();
  const hits: string[] = [];
  // Any path answers an empty page, on which the tests build their forms and requests.
  const server = createServer((request, response) => {
    hits.push(request.url ?? "");
    response
      .writeHead(200, { "content-type": "text/html; charset=utf-8" })
      .end("<!doctype html><title>elsewhere</title><body></body>");
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  attacker = { server, port, hits };
  target = await startTarget({ demo: true });
  issuer = target.issuer;
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await target?.stop();
  await new Promise((resolve) => attacker?.server.close(resolve));
});

/** What the page received from prolong: every access token, every refresh cookie value, every URL asked for. */
interface Traffic {
  accessTokens: Set<string>;
  refreshTokens: Set<string>;
  urls: string[];
  /** Cookie headers the browser sent, by path. */
  cookiesSent: { path: string; cookie: string }[];
}

function watch(context: BrowserContext): Traffic {
  const traffic: Traffic = { accessTokens: new Set(), refreshTokens: new Set(), urls: [], cookiesSent: [] };
  context.on("request", (request) => {
    traffic.urls.push(request.url());
    void request.allHeaders().then((headers) => {
      if (headers.cookie)
        traffic.cookiesSent.push({ path: new URL(request.url()).pathname, cookie: headers.cookie });
    });
  });
  context.on("response", async (response) => {
    for (const header of (await response.headersArray()).filter(
      (h) => h.name.toLowerCase() === "set-cookie",
    )) {
      const value = /^__Secure-prolong-rt=([^;]*)/.exec(header.value)?.[1];
      if (value) traffic.refreshTokens.add(value);
    }
    if (!/\/(login|oauth\/token)$/.test(new URL(response.url()).pathname)) return;
    try {
      const body = (await response.json()) as { access_token?: string };
      if (body.access_token) traffic.accessTokens.add(body.access_token);
    } catch {
      // Not JSON, or a navigation whose body is gone: nothing to record.
    }
  });
  return traffic;
}

/** Signs in on the demo page, as its user would. */
async function signInOnDemo(page: Page, deviceName: string): Promise<void> {
  await page.goto(`${issuer}/`);
  await page.fill('input[name="password"]', target.server.demoPassword as string);
  await page.fill('input[name="device_name"]', deviceName);
  await page.click('#signin-form button[type="submit"]');
  await page.waitForSelector("#app:not([hidden])");
}

async function refreshCookie(context: BrowserContext) {
  return (await context.cookies(`${issuer}/oauth/token`)).find((c) => c.name === REFRESH_COOKIE);
}

/** POST requests the server answered at `route`, from its own metrics. */
async function posts(route: string): Promise<number> {
  const text = await (await fetch(`${target.url}/metrics`)).text();
  const pattern = new RegExp(
    `prolong_http_request_duration_seconds_count\\{[^}]*method="POST"[^}]*route="${route.replaceAll("/", "\\/")}"[^}]*\\} (\\d+)`,
    "g",
  );
  return [...text.matchAll(pattern)].reduce((sum, m) => sum + Number(m[1]), 0);
}

interface Answered {
  status: number;
  body: unknown;
  setCookie: string | null;
}

/** A page elsewhere submits a form to `action`, as a cross-site form post does; what prolong answered. */
async function formPost(
  page: Page,
  action: string,
  fields: Record<string, string>,
  enctype = FORM,
): Promise<Answered> {
  const answered = page.waitForResponse((r) => r.url() === action && r.request().method() === "POST");
  await page.evaluate(
    ({ action, fields, enctype }) => {
      const form = document.createElement("form");
      form.method = "POST";
      form.action = action;
      form.enctype = enctype;
      for (const [name, value] of Object.entries(fields)) {
        const input = document.createElement("input");
        input.type = "hidden";
        input.name = name;
        input.value = value;
        form.append(input);
      }
      document.body.append(form);
      form.submit();
    },
    { action, fields, enctype },
  );
  const response = await answered;
  return {
    status: response.status(),
    body: await response.json(),
    setCookie: await response.headerValue("set-cookie"),
  };
}

/**
 * A page elsewhere sends a fetch with the cookie that needs no preflight (a form's media
 * type, no custom header), as any script may: the status prolong answered with. The answer
 * is opaque to the page (`no-cors`), and so its body to the browser's tooling too.
 */
async function simpleFetch(page: Page, action: string, body: string): Promise<number> {
  const answered = page.waitForResponse((r) => r.url() === action && r.request().method() === "POST");
  await page.evaluate(
    ({ action, body }) =>
      fetch(action, {
        method: "POST",
        mode: "no-cors",
        credentials: "include",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body,
      }).catch(() => null),
    { action, body },
  );
  return (await answered).status();
}

const refused = (status: number, error: string) => ({
  status,
  body: { error, error_description: expect.any(String) },
  setCookie: null,
});

describe("the web profile in Chromium", () => {
  let context: BrowserContext;
  let demo: Page;
  let traffic: Traffic;

  beforeAll(async () => {
    context = await browser.newContext();
    traffic = watch(context);
    demo = await context.newPage();
    const loginAnswer = demo.waitForResponse((r) => r.url() === `${issuer}/login`);
    await signInOnDemo(demo, "Victim's browser");
    const [refresh, device, ...more] = await (await loginAnswer).headerValues("set-cookie");
    // The exact headers: prefix, HttpOnly, Secure, SameSite=Strict; the refresh cookie
    // scoped to the OAuth endpoints, the device cookie a __Host- one (docs/security.md).
    expect(refresh).toMatch(
      /^__Secure-prolong-rt=[A-Za-z0-9_-]{91}; Path=\/oauth; Max-Age=\d+; HttpOnly; Secure; SameSite=Strict$/,
    );
    expect(device).toMatch(
      /^__Host-prolong-device=[A-Za-z0-9_-]{22}\.\d+\.[A-Za-z0-9_-]{22}; Path=\/; Max-Age=31536000; HttpOnly; Secure; SameSite=Strict$/,
    );
    expect(more).toEqual([]);
  }, 60_000);
  afterAll(() => context?.close());

  it("keeps the refresh token in a __Secure- cookie that is HttpOnly, Secure, SameSite=Strict and sent to /oauth only", async () => {
    const cookie = await refreshCookie(context);
    expect(cookie).toMatchObject({
      httpOnly: true,
      secure: true,
      sameSite: "Strict",
      path: "/oauth",
      domain: "localhost",
    });
    expect(cookie?.expires).toBeGreaterThan(Date.now() / 1000);
    // The browser sends it nowhere else: not to the API, the sessions API, the page or its assets.
    await demo.click("#call-api");
    await expect.poll(() => demo.textContent("#api-result")).toContain("200 OK");
    await demo.click("#refresh-now");
    await expect.poll(() => traffic.accessTokens.size).toBeGreaterThanOrEqual(2);
    const carriers = traffic.cookiesSent.filter((c) => c.cookie.includes(REFRESH_COOKIE)).map((c) => c.path);
    expect(carriers.length).toBeGreaterThan(0);
    expect([...new Set(carriers)].every((path) => path.startsWith("/oauth/"))).toBe(true);
  });

  it("keeps every token out of script-readable cookies, storage, IndexedDB and URLs", async () => {
    const tokens = [...traffic.accessTokens, ...traffic.refreshTokens];
    expect(traffic.accessTokens.size).toBeGreaterThanOrEqual(2);
    expect(traffic.refreshTokens.size).toBeGreaterThanOrEqual(2);
    const readable = await demo.evaluate(async () => ({
      cookie: document.cookie,
      local: JSON.stringify(Object.entries(localStorage)),
      session: JSON.stringify(Object.entries(sessionStorage)),
      databases: JSON.stringify(await indexedDB.databases()),
      url: location.href,
      title: document.title,
    }));
    expect(readable.cookie).toBe("");
    for (const [where, text] of Object.entries(readable)) {
      for (const token of tokens) expect(text.includes(token), `${where} holds a token`).toBe(false);
      // Nothing shaped like a JWT either (a header that starts `{"`).
      expect(text, where).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
    }
    for (const url of traffic.urls) {
      for (const token of tokens) expect(url.includes(token), url).toBe(false);
      expect(url).not.toMatch(/access_token|refresh_token|eyJ[A-Za-z0-9_-]{10,}/);
    }
  });

  describe("cookie requests from another origin on the same site (the cookie is sent)", () => {
    let elsewhere: Page;
    let cookieBefore: string | undefined;
    beforeAll(async () => {
      cookieBefore = (await refreshCookie(context))?.value;
      elsewhere = await context.newPage();
    });

    it("a form post to the token endpoint: 403 invalid_request, nothing rotated", async () => {
      await elsewhere.goto(`http://localhost:${attacker.port}/refresh`);
      const before = await posts("/oauth/token");
      expect(
        await formPost(elsewhere, `${issuer}/oauth/token`, { grant_type: "refresh_token", client_id: "web" }),
      ).toEqual(refused(403, "invalid_request"));
      expect(await posts("/oauth/token")).toBe(before + 1);
    });

    it("a form post to the revocation endpoint (logout CSRF): 403 invalid_request, the session lives", async () => {
      await elsewhere.goto(`http://localhost:${attacker.port}/revoke`);
      expect(
        await formPost(elsewhere, `${issuer}/oauth/revoke`, {
          token_type_hint: "refresh_token",
          client_id: "web",
        }),
      ).toEqual(refused(403, "invalid_request"));
    });

    it("a form post redeeming the attacker's own handoff code (login CSRF): 403 invalid_request, no cookie set", async () => {
      const created = await target.admin("POST", "/sessions", { user_id: "the-attacker", client_id: "web" });
      const { handoff_code } = (await created.json()) as { handoff_code: string };
      await elsewhere.goto(`http://localhost:${attacker.port}/handoff`);
      expect(
        await formPost(elsewhere, `${issuer}/oauth/token`, {
          grant_type: HANDOFF,
          code: handoff_code,
          client_id: "web",
        }),
      ).toEqual(refused(403, "invalid_request"));
      // The refused attempt did not spend the code: only the browser of its own page may.
      const redeemed = await tokenRequest(
        target,
        { grant_type: HANDOFF, code: handoff_code, client_id: "web" },
        { "prolong-csrf": "1" },
      );
      expect(redeemed.status).toBe(200);
    });

    it("a form post signing the browser in (login CSRF): JSON cannot be posted by a form, 415", async () => {
      await elsewhere.goto(`http://localhost:${attacker.port}/login`);
      // text/plain turns name=value into `{"username":…,"x":"=…"}`, valid JSON but not its media type.
      const name = `{"username":"demo","password":"${target.server.demoPassword}","x":"`;
      expect(await formPost(elsewhere, `${issuer}/login`, { [name]: '"}' }, "text/plain")).toEqual(
        refused(415, "unsupported_media_type"),
      );
      expect(await formPost(elsewhere, `${issuer}/login`, { username: "demo", password: "x" })).toEqual(
        refused(415, "unsupported_media_type"),
      );
    });

    it("a script's fetch without the anti-CSRF header: 403, as the form post above (invalid_request)", async () => {
      await elsewhere.goto(`http://localhost:${attacker.port}/fetch`);
      expect(
        await simpleFetch(elsewhere, `${issuer}/oauth/token`, "grant_type=refresh_token&client_id=web"),
      ).toBe(403);
      expect(
        await simpleFetch(elsewhere, `${issuer}/oauth/revoke`, "token_type_hint=refresh_token&client_id=web"),
      ).toBe(403);
    });

    it("a script's fetch with the header: the browser's preflight finds no CORS grant and never sends it", async () => {
      await elsewhere.goto(`http://localhost:${attacker.port}/preflight`);
      const before = await posts("/oauth/token");
      const outcome = await elsewhere.evaluate(
        (action) =>
          fetch(action, {
            method: "POST",
            credentials: "include",
            headers: { "content-type": "application/x-www-form-urlencoded", "prolong-csrf": "1" },
            body: "grant_type=refresh_token&client_id=web",
          }).then(
            () => "sent",
            (error: Error) => error.name,
          ),
        `${issuer}/oauth/token`,
      );
      expect(outcome).toBe("TypeError");
      expect(await posts("/oauth/token")).toBe(before);
    });

    it("left the victim's cookie as it was, and the victim's session goes on", async () => {
      expect((await refreshCookie(context))?.value).toBe(cookieBefore);
      const renewed = traffic.accessTokens.size;
      await demo.click("#refresh-now");
      await expect.poll(() => traffic.accessTokens.size).toBeGreaterThan(renewed);
      expect((await refreshCookie(context))?.value).not.toBe(cookieBefore);
      await elsewhere.close();
    });
  });

  describe("cookie requests from another site (the SameSite=Strict cookie is not sent)", () => {
    it("a form post to the token or revocation endpoint carries no credential: 400 invalid_request", async () => {
      const elsewhere = await context.newPage();
      await elsewhere.goto(`http://127.0.0.1:${attacker.port}/cross-site`);
      const sent = traffic.cookiesSent.length;
      expect(
        await formPost(elsewhere, `${issuer}/oauth/token`, { grant_type: "refresh_token", client_id: "web" }),
      ).toEqual(refused(400, "invalid_request"));
      await elsewhere.goto(`http://127.0.0.1:${attacker.port}/cross-site`);
      expect(
        await formPost(elsewhere, `${issuer}/oauth/revoke`, {
          token_type_hint: "refresh_token",
          client_id: "web",
        }),
      ).toEqual(refused(400, "invalid_request"));
      expect(traffic.cookiesSent.slice(sent).filter((c) => c.cookie.includes(REFRESH_COOKIE))).toEqual([]);
      await elsewhere.close();
    });
  });

  it("shows hostile device names as text on the demo page", async () => {
    // A browser of its own: this one's cookie would resume the victim's session.
    const own = await browser.newContext();
    const page = await own.newPage();
    await signInOnDemo(page, '<img src=x onerror="window.pwned=1">\u202Egnp.exe');
    const cell = page.locator("#devices tr:has(.current) td:first-child");
    await expect
      .poll(() => cell.textContent())
      .toBe('<img src=x onerror="window.pwned=1">gnp.exethis device');
    page.once("dialog", (dialog) => void dialog.accept("<script>window.pwned=2</script>\u0000\u200Bname"));
    await page.click('#devices tr:has(.current) button:has-text("Rename")');
    await expect.poll(() => cell.textContent()).toBe("<script>window.pwned=2</script>namethis device");
    expect(await page.locator("#devices img, #devices script").count()).toBe(0);
    expect(await page.evaluate(() => (window as { pwned?: number }).pwned)).toBeUndefined();
    await own.close();
  });
});

describe("no open redirect", () => {
  const redirects = ["next", "redirect", "redirect_uri", "return_to", "returnTo", "continue", "url"];

  it("the server answers no path or parameter with a redirect", async () => {
    const evil = `http://127.0.0.1:${attacker.port}/pwned`;
    const query = redirects.map((name) => `${name}=${encodeURIComponent(evil)}`).join("&");
    const paths = [
      `/?${query}`,
      `/login?${query}`,
      `/oauth/token?${query}`,
      `/oauth/revoke?${query}`,
      `/sessions?${query}`,
      `/.well-known/oauth-authorization-server?${query}`,
      "//127.0.0.1/pwned",
      "/%2F%2F127.0.0.1%2Fpwned",
      "/\\127.0.0.1/pwned",
      "/assets/..%2F..%2Fpwned",
      "/assets/",
      "/demo/",
    ];
    const answers: Record<string, { status: number; location: string | null }> = {};
    for (const path of paths) {
      for (const method of ["GET", "POST"]) {
        const response = await fetch(`${target.url}${path}`, { method, redirect: "manual" });
        await response.arrayBuffer();
        answers[`${method} ${path}`] = {
          status: response.status,
          location: response.headers.get("location"),
        };
      }
    }
    for (const [request, answer] of Object.entries(answers)) {
      expect(answer.location, request).toBeNull();
      expect(answer.status >= 300 && answer.status < 400, `${request} answered ${answer.status}`).toBe(false);
    }
  });

  it("the demo page opened with redirect parameters stays on its origin through sign-in and sign-out", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const evil = `http://127.0.0.1:${attacker.port}/pwned`;
    const query = redirects.map((name) => `${name}=${encodeURIComponent(evil)}`).join("&");
    const hits = attacker.hits.length;
    await page.goto(`${issuer}/?${query}`);
    await page.fill('input[name="password"]', target.server.demoPassword as string);
    await page.click('#signin-form button[type="submit"]');
    await page.waitForSelector("#app:not([hidden])");
    expect(new URL(page.url()).origin).toBe(issuer);
    await page.click("#logout");
    await page.waitForSelector("#signin:not([hidden])");
    expect(new URL(page.url()).origin).toBe(issuer);
    expect(attacker.hits.slice(hits)).toEqual([]);
    await context.close();
  });
});

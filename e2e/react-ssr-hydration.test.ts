// @module-tag chromium
import { mkdtempSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { type AccessTokenClaims, readClaims, type TokenAnswer } from "@prolong/client";
import { createProlong, type Prolong } from "@prolong/server";
import { CACHE_CONTROL_PRIVATE, createServerSessions } from "@prolong/ssr";
import { build } from "esbuild";
import express from "express";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./browser.js";
import { freePort } from "./server-process.js";

// Access tokens of 10 s: rfa 8 s after issue. The page renews at rfa (lead 1, no jitter),
// so one page load is over long before the first renewal and the second is 8 s after it.
const TTL = 10;

/**
 * The app, rendered on the server and hydrated in the browser from this one source, so
 * both render the same tree. It writes each status it committed (with the token's `jti`)
 * to `window.committed`; effects never run on the server.
 */
const APP = `
import { ProlongProvider, useSession } from "@prolong/react";
import { createElement as h, StrictMode, useEffect } from "react";

function Status() {
  const { status, claims } = useSession();
  useEffect(() => {
    window.committed.push(status + " " + (claims ? claims.jti : "-"));
  }, [status, claims]);
  return h("p", null, h("output", { id: "status" }, status), " as ", h("span", { id: "sub" }, claims ? claims.sub : "nobody"));
}

export function App({ issuer, initial }) {
  return h(StrictMode, null, h(ProlongProvider, { options: { issuer, lead: 1, jitter: 0 }, initial }, h(Status)));
}
`;

/** Runs before the app: every text `#status` shows, from the server's HTML on, once in a row. */
const WATCH = `
  window.committed = [];
  window.shown = [];
  const look = () => {
    const text = document.getElementById("status")?.textContent;
    if (text !== undefined && text !== window.shown[window.shown.length - 1]) window.shown.push(text);
  };
  new MutationObserver(look).observe(document, { subtree: true, childList: true, characterData: true });
`;

// React's development builds, on both sides: the ones that report hydration mismatches in detail.
const DEVELOPMENT = { "process.env.NODE_ENV": '"development"' };
const resolveDir = new URL(".", import.meta.url).pathname;

/** The browser's bundle: the app hydrated over the server's HTML, with the session the server rendered. */
async function browserBundle(): Promise<Uint8Array> {
  const bundled = await build({
    stdin: {
      contents: `${APP}
import { hydrateRoot } from "react-dom/client";
const { issuer, initial } = JSON.parse(document.getElementById("session").textContent);
hydrateRoot(document.getElementById("root"), h(App, { issuer, initial }));`,
      resolveDir,
      loader: "js",
    },
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    define: DEVELOPMENT,
    logLevel: "silent",
  });
  return bundled.outputFiles[0]?.contents as Uint8Array;
}

type Render = (issuer: string, initial: TokenAnswer | null) => string;

/** The server's renderer: the same app through react-dom/server's renderToString. */
async function serverRenderer(folder: string): Promise<Render> {
  const file = join(folder, "render.mjs");
  await build({
    stdin: {
      contents: `${APP}
import { renderToString } from "react-dom/server";
export const render = (issuer, initial) => renderToString(h(App, { issuer, initial }));`,
      resolveDir,
      loader: "js",
    },
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    outfile: file,
    define: DEVELOPMENT,
    // React's CommonJS modules require Node's own; an ES module has no `require` of its own.
    banner: {
      js: 'import { createRequire } from "node:module"; const require = createRequire(import.meta.url);',
    },
    logLevel: "silent",
  });
  const loaded = (await import(/* @vite-ignore */ pathToFileURL(file).href)) as { render: Render };
  return loaded.render;
}

let prolong: Prolong;
let server: Server;
let origin: string;
let browser: Browser;
let folder: string;
/** Requests to prolong's token endpoint: when (ms), and from the browser or the server's renewal. */
const tokenPosts: { at: number; from: "browser" | "server" }[] = [];

beforeAll(async () => {
  folder = mkdtempSync(join(tmpdir(), "prolong-ssr-"));
  const [script, render, port] = await Promise.all([browserBundle(), serverRenderer(folder), freePort()]);
  origin = `http://localhost:${port}`;
  const issuer = `${origin}/auth`;
  // The access cookie beside the refresh cookie on every web token answer (docs/ssr.md).
  prolong = await createProlong(
    { issuer, store: "memory:", cookies: { access: true }, profiles: { web: { accessTokenTtl: TTL } } },
    { logStream: { write: () => {} } },
  );
  const sessions = createServerSessions({
    issuer,
    fetch: (request) => {
      if (request.method === "POST" && new URL(request.url).pathname === "/auth/oauth/token")
        tokenPosts.push({ at: Date.now(), from: "server" });
      return prolong.fetch(request);
    },
  });
  const app = express();
  app.use((req, _res, next) => {
    if (req.method === "POST" && req.path === "/auth/oauth/token")
      tokenPosts.push({ at: Date.now(), from: "browser" });
    next();
  });
  app.use("/auth", prolong.expressHandler());
  // The host's own login, a form: it starts the session (prolong sets both cookies) and
  // sends the browser to the server-rendered page.
  app.post("/login", express.urlencoded({ extended: false }), async (req, res, next) => {
    try {
      await prolong.startSession(res, { subject: String(req.body.user), deviceName: "Chromium" });
      res.redirect(303, "/");
    } catch (error) {
      next(error);
    }
  });
  app.get("/app.js", (_req, res) => {
    res.type("text/javascript").send(Buffer.from(script));
  });
  // The server render, after the renewal a middleware makes (none while the access cookie
  // is before its rfa): the session verified, handed to the page with what the token has left.
  app.get("/", async (req, res) => {
    const request = new Request(`${origin}${req.url}`, { headers: { cookie: req.headers.cookie ?? "" } });
    const { session, setCookies } = await sessions.renew(request);
    if (setCookies.length > 0) res.append("set-cookie", setCookies);
    const initial: TokenAnswer | null = session
      ? { access_token: session.accessToken, expires_in: (session.expiresAt - Date.now()) / 1000 }
      : null;
    const data = JSON.stringify({ issuer, initial }).replace(/</g, "\\u003c");
    res
      .set("cache-control", CACHE_CONTROL_PRIVATE)
      .type("html")
      .send(`<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>SSR</title><script>${WATCH}</script></head>
<body><div id="root">${render(issuer, initial)}</div>
<script type="application/json" id="session">${data}</script>
<script type="module" src="/app.js"></script></body></html>`);
  });
  await new Promise<void>((resolve) => {
    server = app.listen(port, "127.0.0.1", () => resolve());
  });
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
  await prolong?.close();
  if (folder) rmSync(folder, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A page whose console errors and warnings (React reports hydration mismatches there) are kept. */
async function watchedPage(): Promise<{ page: Page; problems: string[] }> {
  const page = await (await browser.newContext()).newPage();
  const problems: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") problems.push(message.text());
  });
  page.on("pageerror", (error) => problems.push(error.message));
  return { page, problems };
}

/** The server's HTML of the next load of `/`, as it arrived, before any script ran. */
const nextPage = (page: Page) =>
  page
    .waitForResponse((r) => new URL(r.url()).pathname === "/" && r.request().method() === "GET")
    .then((r) => r.text());

const hydrated = (page: Page) =>
  page.waitForFunction(() => (window as unknown as { committed: string[] }).committed.length > 0);

const seen = (page: Page) =>
  page.evaluate(() => {
    const w = window as unknown as { committed: string[]; shown: string[] };
    return { committed: w.committed.filter((c, i, all) => c !== all[i - 1]), shown: w.shown };
  });

describe("@prolong/react hydrates the session the server rendered, in Chromium", () => {
  it("signed in: rendered and hydrated signedIn, no loading, no hydration warning, no token request at load; one renewal after rfa, which the next render reads", async () => {
    const { page, problems } = await watchedPage();
    await page.goto(`${origin}/`);
    await hydrated(page);
    expect(await page.textContent("#status")).toBe("signedOut");
    const before = tokenPosts.length;

    // The login form's answer is a redirect to the server-rendered page.
    const served = nextPage(page);
    await page.evaluate(() => {
      const form = Object.assign(document.createElement("form"), { method: "POST", action: "/login" });
      form.append(Object.assign(document.createElement("input"), { name: "user", value: "user-42" }));
      document.body.append(form);
      form.submit();
    });
    expect(await served).toContain('<output id="status">signedIn</output> as <span id="sub">user-42</span>');
    await hydrated(page);
    // A second after hydration: still nothing asked of the token endpoint.
    await sleep(1_000);
    expect(tokenPosts.length - before).toBe(0);
    const loaded = await seen(page);
    expect(loaded.shown).toEqual(["signedIn"]);
    expect(loaded.committed).toHaveLength(1);
    expect(loaded.committed[0]).toMatch(/^signedIn \S+$/);
    expect(await page.textContent("#sub")).toBe("user-42");
    expect(problems).toEqual([]);

    // Past rfa (8 s after issue), before the renewed token's own rfa: exactly one renewal,
    // by the page.
    const rendered = await page.evaluate(
      () =>
        JSON.parse(document.getElementById("session")?.textContent ?? "{}").initial.access_token as string,
    );
    const { exp, rfa } = readClaims(rendered) as AccessTokenClaims;
    await sleep(Math.max(0, (rfa as number) * 1000 + 2_500 - Date.now()));
    const renewals = tokenPosts.slice(before);
    expect(renewals.map((r) => r.from)).toEqual(["browser"]);
    expect(renewals[0]?.at).toBeGreaterThanOrEqual((rfa as number) * 1000);
    expect(renewals[0]?.at).toBeLessThan(exp * 1000);
    const renewed = await seen(page);
    expect(renewed.shown).toEqual(["signedIn"]);
    expect(renewed.committed).toHaveLength(2);
    const newest = (renewed.committed[1] as string).split(" ")[1];
    expect(newest).not.toBe(loaded.committed[0]?.split(" ")[1]);
    // The browser renewed through the token endpoint with its cookies: both were replaced,
    // so the server's next render reads the page's own token and has nothing to renew.
    const accessCookie = (await page.context().cookies()).find((c) => c.name === "__Host-prolong-at");
    expect(readClaims(accessCookie?.value ?? "")?.jti).toBe(newest);
    const reloaded = nextPage(page);
    await page.reload();
    expect(await reloaded).toContain('<output id="status">signedIn</output>');
    await page.waitForFunction(() => (window as unknown as { committed: string[] }).committed.length > 0);
    await sleep(1_000);
    expect(tokenPosts.length - before).toBe(1);
    expect((await seen(page)).committed).toEqual([`signedIn ${newest}`]);
    expect(problems).toEqual([]);
    await page.context().close();
  }, 60_000);

  it("signed out: rendered and hydrated signedOut, no hydration warning, no token request", async () => {
    const { page, problems } = await watchedPage();
    const before = tokenPosts.length;
    const served = nextPage(page);
    await page.goto(`${origin}/`);
    expect(await served).toContain('<output id="status">signedOut</output> as <span id="sub">nobody</span>');
    await hydrated(page);
    await sleep(1_000);
    expect(tokenPosts.length - before).toBe(0);
    expect(await seen(page)).toEqual({ committed: ["signedOut -"], shown: ["signedOut"] });
    expect(problems).toEqual([]);
    await page.context().close();
  }, 30_000);
});

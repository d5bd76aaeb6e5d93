// @module-tag chromium
import { createServer, type Server } from "node:http";
import { build } from "esbuild";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./browser.js";
import { forwardTo } from "./forward.js";
import { freePort, type RunningServer, startServerWithConfig, tokenRequests } from "./server-process.js";

// Access tokens of 5 s; the page renews each one a second before it ends (lead 1, no jitter).
const TTL = 5;

/**
 * Runs before the app: counts what the app holds in the page, the cross-tab channels it
 * has open and its listeners on `window` for the events a session client hears, so the
 * test can tell that Strict Mode's double mount and an unmount leave nothing behind.
 */
const HOLDINGS = `
  const CLIENT_EVENTS = new Set(["visibilitychange", "focus", "online", "pageshow", "pointerdown", "keydown", "wheel", "touchstart"]);
  const held = { channels: 0, listeners: new Map() };
  window.held = held;
  const Channel = window.BroadcastChannel;
  window.BroadcastChannel = class extends Channel {
    #open = true;
    constructor(name) { super(name); held.channels++; }
    close() { if (this.#open) held.channels--; this.#open = false; super.close(); }
  };
  const add = window.addEventListener.bind(window);
  const remove = window.removeEventListener.bind(window);
  window.addEventListener = (type, listener, options) => {
    // The app's listeners only: the browser's automation adds its own, for clicks.
    const fromApp = new Error().stack.includes("/app.js");
    if (fromApp && CLIENT_EVENTS.has(type)) held.listeners.set(listener, (held.listeners.get(listener) ?? new Set()).add(type));
    add(type, listener, options);
  };
  window.removeEventListener = (type, listener, options) => {
    held.listeners.get(listener)?.delete(type);
    remove(type, listener, options);
  };
`;

/**
 * The app's origin: its page and bundle, and prolong behind it, as a reverse proxy puts
 * an app and its sign-in service on one origin. (prolong's metadata endpoint answers no
 * CORS, so a client on another origin could not read it.)
 */
async function hostApp(): Promise<{ origin: string; server: Server; upstream: { port: number } }> {
  const bundled = await build({
    entryPoints: [new URL("./react-page.ts", import.meta.url).pathname],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    // React's development build: the one where Strict Mode mounts twice.
    define: { "process.env.NODE_ENV": '"development"' },
    logLevel: "silent",
  });
  const script = bundled.outputFiles[0]?.contents as Uint8Array;
  const page = `<!doctype html><meta charset="utf-8"><title>React app</title>
<script>${HOLDINGS}</script><div id="root"></div><script type="module" src="/app.js"></script>`;
  const upstream = { port: 0 };
  const server = createServer((incoming, response) => {
    if (incoming.url === "/app.js") {
      response.writeHead(200, { "content-type": "text/javascript; charset=utf-8" }).end(script);
    } else if (incoming.url?.startsWith("/?")) {
      response.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(page);
    } else {
      forwardTo({ host: "127.0.0.1", port: upstream.port }, incoming, response);
    }
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { origin: `http://localhost:${port}`, server, upstream };
}

let prolong: RunningServer;
let app: Awaited<ReturnType<typeof hostApp>>;
let browser: Browser;
let issuer: string;

beforeAll(async () => {
  app = await hostApp();
  prolong = await startServerWithConfig({
    demo: true,
    issuer: app.origin,
    profiles: { web: { accessTokenTtl: TTL } },
    rateLimits: { refreshPerSession: { max: 1000, windowSeconds: 60 } },
  });
  app.upstream.port = Number(new URL(prolong.url).port);
  issuer = app.origin;
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await prolong?.stop();
  await new Promise((resolve) => app?.server.close(resolve));
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function open(query = ""): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${app.origin}/?issuer=${encodeURIComponent(issuer)}${query}`);
  return page;
}

const statusIs = (page: Page, status: string) => page.waitForSelector(`#status:text-is("${status}")`);

/** The statuses the app committed, each once in a row (Strict Mode runs a mount's effects twice). */
const statuses = (page: Page) =>
  page.evaluate(() => window.rendered.statuses.filter((s, i, all) => s !== all[i - 1]));

async function signIn(page: Page): Promise<void> {
  await statusIs(page, "signedOut");
  await page.fill('input[name="password"]', prolong.demoPassword as string);
  await page.click('#signin button[type="submit"]');
  await statusIs(page, "signedIn");
}

/** What the client holds in the page: open channels, `window` listeners, Web Locks held or awaited. */
const holdings = (page: Page) =>
  page.evaluate(async () => {
    const { held } = window as unknown as {
      held: { channels: number; listeners: Map<unknown, Set<string>> };
    };
    const locks = await navigator.locks.query();
    return {
      channels: held.channels,
      listeners: [...held.listeners.values()].reduce((n, types) => n + types.size, 0),
      locks: [...(locks.held ?? []), ...(locks.pending ?? [])].length,
    };
  });

describe("@prolong/react in Chromium, under Strict Mode, against the real server", () => {
  it("signs in, stays signed in across three token lifetimes with one refresh each, calls the API, signs out", async () => {
    const page = await open();
    await signIn(page);
    expect(await statuses(page)).toEqual(["loading", "signedOut", "signedIn"]);
    expect(await page.textContent("#sub")).toMatch(/^\S+$/);
    // Strict Mode mounted the provider twice; one client holds one channel and its listeners.
    expect(await holdings(page)).toEqual({ channels: 1, listeners: 8, locks: 0 });

    const before = await tokenRequests(prolong);
    const tokensBefore = await page.evaluate(() => window.rendered.tokens.length);
    await sleep(3 * TTL * 1000);
    const refreshes = (await tokenRequests(prolong)) - before;
    const tokens = await page.evaluate(() => window.rendered.tokens.length);
    // Each renewal went out once and the app rendered its token: no second refresh for
    // a lifetime, from a second mount or a client left over from it.
    expect(refreshes).toBeGreaterThanOrEqual(3);
    expect(refreshes).toBeLessThanOrEqual(4);
    expect(tokens - tokensBefore).toBe(refreshes);
    expect(await statuses(page)).toEqual(["loading", "signedOut", "signedIn"]);

    // A protected API, through the hook's fetch: the token added; without it, refused.
    await page.click("#call");
    await page.waitForSelector('#answer:text-is("200 React page")');
    const bare = await page.evaluate(() => fetch("/sessions").then((r) => r.status));
    expect(bare).toBe(401);

    await page.click("#signout");
    await statusIs(page, "signedOut");
    // The session ended at the server too: a reload finds nothing to resume.
    await page.reload();
    await statusIs(page, "signedOut");
    expect(await statuses(page)).toEqual(["loading", "signedOut"]);
    await page.context().close();
  }, 60_000);

  it.each(["options", "ready"])(
    "resumes with one request after a reload, and unmounting stops the client (client from %s)",
    async (made) => {
      const query = made === "ready" ? "&client=ready" : "";
      const page = await open(query);
      await signIn(page);

      const beforeReload = await tokenRequests(prolong);
      await page.reload();
      await statusIs(page, "signedIn");
      // Two mounts, one resume request, and no sign-in form shown while it was under way.
      expect((await tokenRequests(prolong)) - beforeReload).toBe(1);
      expect(await statuses(page)).toEqual(["loading", "signedIn"]);

      await page.click("#toggle");
      await page.waitForSelector("#status", { state: "detached" });
      expect(await holdings(page)).toEqual({ channels: 0, listeners: 0, locks: 0 });
      const afterUnmount = await tokenRequests(prolong);
      // Past the renewal point of the last token and past its end: no timer left to refresh.
      await sleep((TTL + 1) * 1000);
      expect(await tokenRequests(prolong)).toBe(afterUnmount);

      // Mounted again, the client starts again and the session is still there.
      await page.click("#toggle");
      await statusIs(page, "signedIn");
      expect(await holdings(page)).toEqual({ channels: 1, listeners: 8, locks: 0 });
      await page.context().close();
    },
    60_000,
  );
});

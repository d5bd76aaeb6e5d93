// @module-tag chromium
// @module-tag nginx
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page, Response } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findNginx } from "../testing/system-programs.js";
import { launchChromium } from "./browser.js";
import { freePort } from "./server-process.js";
import { buildSvelteKit, type SvelteKitApp, type SvelteKitBuild, startSvelteKit } from "./sveltekit-app.js";

// examples/sveltekit behind a shared cache configured as a careless CDN is: every 200 is
// kept for ten minutes and served to whoever asks for the same URL, whatever their
// cookies. nginx still honours what it honours by default (Cache-Control private/no-store,
// Expires, and no caching of an answer with Set-Cookie); nothing more is asked of it.
// Two users sign in and renew through it, and neither ever gets the other's cookie or page.
const TTL = 5;
const MARYO = { username: "maryo", password: "correct horse battery", id: "user-42", name: "Maryo" };
const ADA = { username: "ada", password: "analytical engine", id: "user-7", name: "Ada" };
type User = typeof MARYO;

/** nginx, run as a plain process with everything of its own in `dir`. */
interface Nginx {
  child: ChildProcess;
  dir: string;
  log: () => string;
  stop: () => Promise<void>;
}

function nginxConfig(dir: string, port: number, upstream: string): string {
  return `daemon off;
master_process on;
worker_processes 1;
${process.getuid?.() === 0 ? "user root;" : ""}
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/client-body;
  proxy_temp_path ${dir}/proxy-temp;
  fastcgi_temp_path ${dir}/fastcgi-temp;
  uwsgi_temp_path ${dir}/uwsgi-temp;
  scgi_temp_path ${dir}/scgi-temp;
  proxy_cache_path ${dir}/cache levels=1:2 keys_zone=pages:1m max_size=64m inactive=10m use_temp_path=off;
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass ${upstream};
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_cache pages;
      # The careless part: a 200 that says nothing about caching is kept and shared.
      proxy_cache_valid 200 10m;
      add_header X-Cache-Status $upstream_cache_status always;
    }
  }
}
`;
}

/** Resolves once something accepts connections on the port; fails after 10 s. */
async function listening(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: ${log()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`nginx did not listen on ${port} within 10 s: ${log()}`);
}

async function startNginx(port: number, upstream: string): Promise<Nginx> {
  const binary = findNginx();
  if (!binary) throw new Error("nginx is not installed: this test needs it (Debian package nginx)");
  const dir = mkdtempSync(join(tmpdir(), "prolong-nginx-"));
  mkdirSync(join(dir, "cache"));
  const config = join(dir, "nginx.conf");
  writeFileSync(config, nginxConfig(dir, port, upstream));
  // -e: the error log before the configuration is read, which would otherwise be a system path.
  const child = spawn(binary, ["-p", dir, "-c", config, "-e", join(dir, "error.log")], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  const log = () => {
    let errors = "";
    try {
      errors = readFileSync(join(dir, "error.log"), "utf8");
    } catch {}
    return `${output}${errors}`;
  };
  const stop = () =>
    new Promise<void>((resolve) => {
      const gone = () => {
        rmSync(dir, { recursive: true, force: true });
        resolve();
      };
      if (child.exitCode !== null || child.signalCode !== null) return gone();
      child.once("exit", gone);
      // SIGQUIT: nginx's graceful shutdown, its workers included.
      child.kill("SIGQUIT");
    });
  try {
    await listening(port, child, log);
  } catch (error) {
    await stop();
    throw error;
  }
  return { child, dir, log, stop };
}

let build: SvelteKitBuild;
let app: SvelteKitApp;
let nginx: Nginx;
let browser: Browser;
let proxy: string;

beforeAll(async () => {
  [build, browser] = await Promise.all([buildSvelteKit(), launchChromium()]);
  const [appPort, proxyPort] = [await freePort(), await freePort()];
  proxy = `http://127.0.0.1:${proxyPort}`;
  // The app's public origin is the proxy's: its issuer, its form actions' Origin check.
  app = await startSvelteKit(build, { port: appPort, origin: proxy, ttl: TTL, graceWindow: 30 });
  nginx = await startNginx(proxyPort, app.url);
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await nginx?.stop();
  expect(await app?.stop()).toBe(0);
  build?.remove();
});

/** What one browser was answered through the proxy. */
interface Seen {
  /** Every answer: its URL, status, cache status, and the Set-Cookie values it carried. */
  answers: { url: string; status: number; cache: string | undefined; setCookies: string[] }[];
}

async function browse(): Promise<{ context: BrowserContext; seen: Seen }> {
  const context = await browser.newContext();
  const seen: Seen = { answers: [] };
  context.on("response", (response: Response) => {
    void response.headersArray().then(
      (headers) =>
        seen.answers.push({
          url: response.url(),
          status: response.status(),
          cache: headers.find((h) => h.name.toLowerCase() === "x-cache-status")?.value,
          setCookies: headers.filter((h) => h.name.toLowerCase() === "set-cookie").map((h) => h.value),
        }),
      () => {},
    );
  });
  return { context, seen };
}

async function signIn(page: Page, user: User, deviceName: string): Promise<void> {
  await page.goto(`${proxy}/login`);
  await page.fill('input[name="username"]', user.username);
  await page.fill('input[name="password"]', user.password);
  await page.fill('input[name="deviceName"]', deviceName);
  await Promise.all([page.waitForURL(`${proxy}/account`), page.click('#signin button[type="submit"]')]);
}

/** The subject an access-token cookie names (its JWT payload's `sub`). */
function subjectOf(setCookie: string): string {
  const jwt = /^__Host-prolong-at=([^;]*)/.exec(setCookie)?.[1] ?? "";
  const payload = jwt.split(".")[1] ?? "";
  return JSON.parse(Buffer.from(payload, "base64url").toString()).sub;
}

/** One round for one user: pages and API calls through the proxy, each checked to be theirs. */
async function round(page: Page, user: User, other: User): Promise<void> {
  for (const path of ["/account", "/devices", "/account"]) {
    const response = await page.goto(`${proxy}${path}`);
    const html = (await response?.text()) ?? "";
    expect(page.url()).toBe(`${proxy}${path}`);
    expect(response?.headers()["x-cache-status"]).not.toBe("HIT");
    expect(html).not.toContain(other.name);
    if (path === "/account") expect(html).toContain(`Signed in as ${user.name} (${user.id})`);
  }
  const api = await page.evaluate(async () =>
    Promise.all(
      ["/api/me", "/api/me", "/account/__data.json", "/devices/__data.json"].map(async (url) => {
        const response = await fetch(url);
        return { url, status: response.status, body: await response.text() };
      }),
    ),
  );
  for (const answer of api) {
    expect(answer.status).toBe(200);
    expect(answer.body).not.toContain(other.id);
    if (answer.url === "/api/me") expect(JSON.parse(answer.body)).toMatchObject({ id: user.id });
  }
}

describe("examples/sveltekit behind a caching proxy", () => {
  it("serves public assets and the signed-out login page from the cache", async () => {
    const login = await fetch(`${proxy}/login`);
    const html = await login.text();
    const again = await fetch(`${proxy}/login`);
    await again.text();
    expect(again.headers.get("x-cache-status")).toBe("HIT");

    // The build's hashed assets (Cache-Control: public, immutable) and a static file.
    const asset = /\/_app\/immutable\/[^"]+\.js/.exec(html)?.[0];
    expect(asset).toBeDefined();
    for (const path of [asset, "/favicon.svg"]) {
      await (await fetch(`${proxy}${path}`)).arrayBuffer();
      const cached = await fetch(`${proxy}${path}`);
      expect(cached.status).toBe(200);
      expect(cached.headers.get("x-cache-status")).toBe("HIT");
    }
  });

  it("two users signing in, browsing and renewing through it never get each other's cookies or pages", async () => {
    const maryo = await browse();
    const ada = await browse();
    try {
      const maryoPage = await maryo.context.newPage();
      const adaPage = await ada.context.newPage();
      await signIn(maryoPage, MARYO, "Maryo's laptop");
      await signIn(adaPage, ADA, "Ada's laptop");

      // Rounds for more than two access-token lifetimes, so every page and call above
      // happens with fresh, due and expired access cookies, both users interleaved.
      const start = Date.now();
      let rounds = 0;
      while (Date.now() - start < (2 * TTL + 2) * 1000) {
        await Promise.all([round(maryoPage, MARYO, ADA), round(adaPage, ADA, MARYO)]);
        rounds += 1;
        // A second sign-in for Maryo halfway, through the same proxy.
        if (rounds === 3) await signIn(await maryo.context.newPage(), MARYO, "Maryo's second tab");
        await maryoPage.waitForTimeout(400);
      }

      for (const [seen, user] of [
        [maryo.seen, MARYO],
        [ada.seen, ADA],
      ] as const) {
        const setting = seen.answers.filter((answer) => answer.setCookies.length > 0);
        // The login and at least one renewal per lifetime reached this browser.
        expect(setting.length).toBeGreaterThanOrEqual(3);
        for (const answer of setting) {
          // Never from the cache: each was made for this browser's request.
          expect(answer.cache).not.toBe("HIT");
          for (const value of answer.setCookies.filter(
            (v) => v.startsWith("__Host-prolong-at=") && !v.includes("Max-Age=0"),
          ))
            expect(subjectOf(value)).toBe(user.id);
        }
        // Whatever the cache answered was public: the login page, assets, never a user's page or data.
        const hits = seen.answers.filter((answer) => answer.cache === "HIT");
        for (const hit of hits)
          expect(new URL(hit.url).pathname).toMatch(/^\/(login|_app\/immutable\/.*|favicon\.svg)$/);
      }
      // The refresh cookies each browser was given are its own.
      const refreshValues = (seen: Seen) =>
        new Set(
          seen.answers.flatMap((answer) =>
            answer.setCookies.flatMap((value) => /^__Host-prolong-rt=([^;]+)/.exec(value)?.[1] ?? []),
          ),
        );
      const maryoTokens = refreshValues(maryo.seen);
      for (const token of refreshValues(ada.seen)) expect(maryoTokens.has(token)).toBe(false);

      // The second user's login page came from the cache: the proxy was caching throughout.
      expect(ada.seen.answers.some((answer) => answer.cache === "HIT")).toBe(true);
    } finally {
      await Promise.all([maryo.context.close(), ada.context.close()]);
    }
  }, 90_000);
});

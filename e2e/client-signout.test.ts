// @module-tag chromium
import { createSessionClient, memoryStorage } from "@prolong/client";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./browser.js";
import { type RunningServer, startServerWithConfig } from "./server-process.js";

// Access tokens of 5 s: a signed-in client is past `exp` plus the server's tolerance
// (5 s) a few seconds after its last renewal.
const TTL = 5;
const PAST_EXP_MS = (TTL + 5 + 2) * 1000;
const COOKIE = "__Secure-prolong-rt";
let server: RunningServer;
let browser: Browser;

beforeAll(async () => {
  server = await startServerWithConfig({
    demo: true,
    profiles: { web: { accessTokenTtl: TTL }, native: { accessTokenTtl: TTL } },
    rateLimits: { refreshPerSession: { max: 120, windowSeconds: 60 } },
  });
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

/** A refresh with a stale credential, as an attacker holding a copy would try it. */
async function refreshWith(fields: Record<string, string>, cookie?: string) {
  const response = await fetch(`${server.url}/oauth/token`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      ...(cookie ? { cookie: `${COOKIE}=${cookie}`, "prolong-csrf": "1" } : {}),
    },
    body: new URLSearchParams({ grant_type: "refresh_token", ...fields }),
  });
  return { status: response.status, body: (await response.json()) as { error?: string } };
}

describe("sign-out with an expired access token ends the session at the server", () => {
  it("web, in Chromium: after sign-out a reload is signed out and the old cookie refreshes nothing", async () => {
    const base = server.url.replace("127.0.0.1", "localhost");
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base}/`);
    await page.fill('input[name="password"]', server.demoPassword as string);
    await page.click('#signin-form button[type="submit"]');
    await page.waitForSelector("#app:not([hidden])");
    // Renewals fail (the token endpoint is unreachable) until the access token is well past exp.
    await page.route("**/oauth/token", (route) => route.abort("connectionrefused"));
    await new Promise((r) => setTimeout(r, PAST_EXP_MS));
    const expired = await page.evaluate(() => {
      const c = (globalThis as unknown as { prolongClient: { claims: { exp: number }; serverNow(): number } })
        .prolongClient;
      return c.serverNow() / 1000 > c.claims.exp + 5;
    });
    expect(expired).toBe(true);
    const cookie = (await context.cookies()).find((c) => c.name === COOKIE)?.value;
    expect(cookie).toBeTruthy();

    await page.evaluate(() =>
      (globalThis as unknown as { prolongClient: { signOut(): Promise<void> } }).prolongClient.signOut(),
    );
    expect((await context.cookies()).find((c) => c.name === COOKIE)).toBeUndefined();

    await page.unroute("**/oauth/token");
    const resumed = page.waitForResponse((r) => r.url().endsWith("/oauth/token"));
    await page.reload();
    // No cookie: the documented "no session here" (docs/protocol.md, web profile).
    expect((await resumed).status()).toBe(204);
    await page.waitForLoadState("networkidle");
    expect(await page.isVisible("#signin")).toBe(true);
    expect(await page.isVisible("#app")).toBe(false);
    expect(
      await page.evaluate(
        () =>
          (globalThis as unknown as { prolongClient: { accessToken: string | null } }).prolongClient
            .accessToken,
      ),
    ).toBeNull();
    const replay = await refreshWith({ client_id: "web" }, cookie);
    expect(replay).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
    await context.close();
  }, 60_000);

  it("native, in Node: after sign-out the stored refresh token is dead and storage is empty", async () => {
    const storage = memoryStorage();
    // Timers that never fire: no renewal, so the access token expires in the client's hands.
    const client = createSessionClient({
      // The server's issuer, its default: the metadata names it, and the client checks (RFC 8414 §3.3).
      issuer: server.url.replace("127.0.0.1", "localhost"),
      profile: "native",
      storage,
      timers: { setTimeout: () => 0, clearTimeout: () => {} },
    });
    const signedOut: string[] = [];
    client.on("signedOut", (e) => signedOut.push(e.reason));
    await client.signIn({ username: "demo", password: server.demoPassword as string });
    const refreshToken = (await storage.get()) as string;
    expect(refreshToken).toBeTruthy();
    await new Promise((r) => setTimeout(r, PAST_EXP_MS));

    await client.signOut();
    expect(signedOut).toEqual(["logout"]);
    expect(await storage.get()).toBeNull();
    const replay = await refreshWith({ client_id: "native", refresh_token: refreshToken });
    expect(replay).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
  }, 30_000);
});

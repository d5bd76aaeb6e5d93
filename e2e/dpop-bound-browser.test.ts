// @module-tag chromium
import type { IncomingMessage, ServerResponse } from "node:http";
import { createVerifier, type Verifier } from "@prolong/verify";
import { nodeGuard } from "@prolong/verify/node";
import { calculateJwkThumbprint, decodeJwt, type JWK } from "jose";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./browser.js";
import { type ClientPageHost, hostClientPage, storedDpopPairs } from "./client-page.js";
import { forwardTo } from "./forward.js";
import { freePort, type RunningServer, startServerWithConfig } from "./server-process.js";

/**
 * The whole bound path in a real browser: the client SDK with `dpop: true`, a prolong
 * process whose web profile requires DPoP, and a resource route behind @prolong/verify's
 * node:http guard, all on the page's origin (localhost, a secure context for Web Crypto).
 */
let server: RunningServer;
let app: ClientPageHost;
let browser: Browser;
let verifier: Verifier;
/** What reached the resource route: its Authorization scheme, whether a proof came, and the guard's answer. */
const apiCalls: { scheme: string; proof: boolean; status: number }[] = [];

async function resourceRoute(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const guard = nodeGuard(verifier);
  const claims = await guard(request, response);
  apiCalls.push({
    scheme: (request.headers.authorization ?? "").split(" ")[0] ?? "",
    proof: typeof request.headers.dpop === "string",
    status: claims ? 200 : response.statusCode,
  });
  if (claims)
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ sub: claims.sub }));
}

beforeAll(async () => {
  const appPort = await freePort();
  const issuer = `http://localhost:${appPort}`;
  server = await startServerWithConfig({ demo: true, issuer, profiles: { web: { dpop: "required" } } });
  const upstream = new URL(server.url);
  verifier = await createVerifier({
    issuer,
    audience: "prolong",
    jwksUri: `${server.url}/.well-known/jwks.json`,
  });
  app = await hostClientPage({
    port: appPort,
    other: (incoming, response) => {
      if (incoming.url?.startsWith("/api/")) void resourceRoute(incoming, response);
      else forwardTo({ host: upstream.hostname, port: upstream.port }, incoming, response);
    },
  });
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await app?.close();
  await server?.stop();
});

/** The RFC 7638 thumbprints of the DPoP keys the origin keeps in IndexedDB. */
const storedKeys = async (page: Page) =>
  Promise.all((await storedDpopPairs(page)).map(({ publicJwk }) => calculateJwkThumbprint(publicJwk as JWK)));

/** Resumes the session in the page (a reload's start-up), answering whether it is there. */
const resume = (page: Page) =>
  page.evaluate(async () => {
    const client = window.prolong.createSessionClient({ issuer: location.origin, dpop: true });
    const resumed = await client.start();
    const token = client.accessToken;
    client.stop();
    return { resumed, token };
  });

describe("a DPoP-bound web session, client SDK to server to resource server", () => {
  let context: BrowserContext;
  let page: Page;

  it("signs in bound to the key in IndexedDB, refreshes across a reload, and calls a guarded route with DPoP", async () => {
    context = await browser.newContext();
    page = await context.newPage();
    await page.goto(`${app.origin}/`);
    const loginAnswer = page.waitForResponse((r) => r.url().endsWith("/login"));
    const token = await page.evaluate(async (password) => {
      const client = window.prolong.createSessionClient({ issuer: location.origin, dpop: true });
      await client.signIn({ username: "demo", password });
      const token = client.accessToken;
      client.stop();
      return token;
    }, server.demoPassword as string);
    const login = await (await loginAnswer).json();
    expect(login.token_type).toBe("DPoP");

    const [key, ...more] = await storedKeys(page);
    expect(more).toEqual([]);
    expect(decodeJwt(token as string).cnf).toEqual({ jkt: key });

    await page.reload();
    const refreshAnswer = page.waitForResponse((r) => r.url().endsWith("/oauth/token"));
    const { resumed, token: refreshed } = await resume(page);
    expect(resumed).toBe(true);
    const refresh = await refreshAnswer;
    expect(refresh.status()).toBe(200);
    expect((await refresh.json()).token_type).toBe("DPoP");
    expect(refreshed).not.toBe(token);
    expect(decodeJwt(refreshed as string).cnf).toEqual({ jkt: key });

    const from = apiCalls.length;
    const answer = await page.evaluate(async () => {
      const client = window.prolong.createSessionClient({ issuer: location.origin, dpop: true });
      await client.start();
      const response = await client.fetch(`${location.origin}/api/me`);
      client.stop();
      return { status: response.status, body: await response.json() };
    });
    expect(answer).toEqual({ status: 200, body: { sub: expect.any(String) } });
    expect(apiCalls.slice(from)).toEqual([{ scheme: "DPoP", proof: true, status: 200 }]);
  });

  it("refuses the session's refresh cookie in another browser context (another key), and ends the session", async () => {
    const stolen = await context.cookies();
    expect(stolen.length).toBeGreaterThan(0);
    const elsewhere = await browser.newContext();
    await elsewhere.addCookies(stolen);
    const thief = await elsewhere.newPage();
    await thief.goto(`${app.origin}/`);
    const refused = thief.waitForResponse((r) => r.url().endsWith("/oauth/token"));
    const { resumed } = await resume(thief);
    expect(resumed).toBe(false);
    const answer = await refused;
    expect(answer.status()).toBe(400);
    expect((await answer.json()).error).toBe("invalid_grant");
    // It proved with a key of its own, not the session's.
    const [thiefKey] = await storedKeys(thief);
    expect(thiefKey).not.toBe((await storedKeys(page))[0]);
    await elsewhere.close();

    // docs/bound-sessions.md: a bound refresh token shown with another key's proof
    // revokes the session, so the device that owns it is signed out too.
    await page.reload();
    const ownerRefresh = page.waitForResponse((r) => r.url().endsWith("/oauth/token"));
    expect((await resume(page)).resumed).toBe(false);
    expect((await (await ownerRefresh).json()).error).toBe("invalid_grant");
    await context.close();
  });
});

// @module-tag chromium
import { calculateJwkThumbprint, EmbeddedJWK, type JWK, jwtVerify } from "jose";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./browser.js";
import { type ClientPageHost, hostClientPage, storedDpopPairs } from "./client-page.js";
import { forwardTo } from "./forward.js";
import { freePort, type RunningServer, startServerWithConfig } from "./server-process.js";

let server: RunningServer;
let app: ClientPageHost;
let browser: Browser;
/** The DPoP proofs that reached the page's origin, by endpoint path, in order. */
const proofs: { path: string; proof: string }[] = [];

beforeAll(async () => {
  const appPort = await freePort();
  // prolong behind the page's origin (localhost: a secure context, so Web Crypto is there).
  server = await startServerWithConfig({ demo: true, issuer: `http://localhost:${appPort}` });
  const upstream = new URL(server.url);
  app = await hostClientPage({
    port: appPort,
    other: (incoming, response) => {
      const proof = incoming.headers.dpop;
      if (typeof proof === "string") proofs.push({ path: incoming.url ?? "", proof });
      forwardTo({ host: upstream.hostname, port: upstream.port }, incoming, response);
    },
  });
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await app?.close();
  await server?.stop();
});

/** The thumbprint (RFC 7638) of the key a proof was signed with, once jose has verified it. */
async function keyOf(proof: string): Promise<string> {
  const { protectedHeader } = await jwtVerify(proof, EmbeddedJWK, { typ: "dpop+jwt", algorithms: ["ES256"] });
  return calculateJwkThumbprint(protectedHeader.jwk as JWK);
}

/** Thumbprints of the proofs that arrived since `from`, at `path`. */
const keysSince = (from: number, path: string) =>
  Promise.all(
    proofs
      .slice(from)
      .filter((p) => p.path === path)
      .map((p) => keyOf(p.proof)),
  );

/** Opens the page, makes a web client with DPoP in it, and signs in. */
async function signedInPage(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${app.origin}/`);
  await page.evaluate(async (password) => {
    const client = window.prolong.createSessionClient({ issuer: location.origin, dpop: true });
    await client.signIn({ username: "demo", password });
  }, server.demoPassword as string);
  return page;
}

describe("DPoP keys in Chromium", () => {
  it("keeps the key across a reload: the resumed session's refresh is proved by the key it signed in with", async () => {
    const context = await browser.newContext();
    const from = proofs.length;
    const page = await signedInPage(context);
    const [signedInWith] = await keysSince(from, "/login");
    expect(signedInWith).toEqual(expect.any(String));

    const afterSignIn = proofs.length;
    await page.reload();
    await page.evaluate(async () => {
      const client = window.prolong.createSessionClient({ issuer: location.origin, dpop: true });
      if (!(await client.start())) throw new Error("no session to resume");
    });
    const refreshedWith = await keysSince(afterSignIn, "/oauth/token");
    expect(refreshedWith.length).toBeGreaterThanOrEqual(1);
    expect(new Set(refreshedWith)).toEqual(new Set([signedInWith]));
    await context.close();
  });

  it("keeps a key page script can sign with but not read out", async () => {
    const context = await browser.newContext();
    const from = proofs.length;
    const page = await signedInPage(context);
    const [signedInWith] = await keysSince(from, "/login");
    const stored = await storedDpopPairs(page);
    expect(stored.map(({ publicJwk, ...rest }) => rest)).toEqual([
      { extractable: false, jwk: "InvalidAccessError", pkcs8: "InvalidAccessError" },
    ]);
    // The one stored is the one that signed.
    expect(await calculateJwkThumbprint(stored[0]?.publicJwk as JWK)).toBe(signedInWith);
    await context.close();
  });

  it("makes one key for tabs that open and sign in at the same moment", async () => {
    const context = await browser.newContext();
    const tabs = await Promise.all([1, 2, 3, 4, 5].map(() => context.newPage()));
    await Promise.all(tabs.map((tab) => tab.goto(`${app.origin}/`)));
    const from = proofs.length;
    // The key is made on first use: five tabs that have none ask for it together.
    await Promise.all(
      tabs.map((tab) =>
        tab.evaluate(async (pw) => {
          const client = window.prolong.createSessionClient({ issuer: location.origin, dpop: true });
          await client.signIn({ username: "demo", password: pw });
        }, server.demoPassword as string),
      ),
    );
    const keys = await keysSince(from, "/login");
    expect(keys.length).toBe(5);
    expect(new Set(keys).size).toBe(1);
    expect((await storedDpopPairs(tabs[0] as Page)).length).toBe(1);
    await context.close();
  });
});

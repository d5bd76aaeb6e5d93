// @module-tag chromium
import { createProlong, type Prolong } from "@prolong/server";
import express from "express";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./browser.js";
import { type ClientPageHost, hostClientPage } from "./client-page.js";
import { freePort, type RunningServer, startServerWithConfig } from "./server-process.js";

const ADMIN_TOKEN = "admin-token-for-the-client-handoff-test";

let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

describe("the host's own login hands its tokens to the client", () => {
  let prolong: Prolong;
  let host: ClientPageHost;
  /** Requests for prolong's token endpoint that reached the host. */
  let tokenPosts = 0;

  beforeAll(async () => {
    const port = await freePort();
    prolong = await createProlong(
      { issuer: `http://localhost:${port}/auth`, store: "memory:" },
      { logStream: { write: () => {} } },
    );
    const app = express();
    app.use((req, _res, next) => {
      if (req.method === "POST" && req.path === "/auth/oauth/token") tokenPosts++;
      next();
    });
    // The host's login: it decides who the user is, and starts the session on its answer.
    app.post("/my-login", express.json(), async (req, res, next) => {
      try {
        res.json(await prolong.startSession(res, { subject: req.body.user, deviceName: "Chromium" }));
      } catch (error) {
        next(error);
      }
    });
    app.use("/auth", prolong.expressHandler());
    host = await hostClientPage({ port, other: app });
  });
  afterAll(async () => {
    await host?.close();
    await prolong?.close();
  });

  it("start(answer) starts the session with the answer's access token: no refresh spent", async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${host.origin}/`);
    const before = tokenPosts;
    const outcome = await page.evaluate(async (issuer) => {
      const client = window.prolong.createSessionClient({ issuer });
      (globalThis as unknown as { client: typeof client }).client = client;
      const events: string[] = [];
      client.on("authorized", ({ claims }) => events.push(`authorized ${claims.sub}`));
      client.on("refreshed", ({ source }) => events.push(`refreshed ${source}`));
      const response = await fetch("/my-login", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ user: "user-42" }),
      });
      const answer = await response.json();
      const started = await client.start(answer);
      const same = client.accessToken === answer.access_token;
      const api = await client.fetch(`${issuer}/sessions`);
      return { started, same, events, api: api.status };
    }, `${host.origin}/auth`);
    expect(outcome).toEqual({ started: true, same: true, events: ["authorized user-42"], api: 200 });
    expect(tokenPosts - before).toBe(0);
    // The cookie the same answer set renews the session from here on.
    const renewed = await page.evaluate(() =>
      (
        globalThis as unknown as { client: ReturnType<typeof window.prolong.createSessionClient> }
      ).client.refresh(),
    );
    expect(renewed).toBe(true);
    expect(tokenPosts - before).toBe(1);
    await page.context().close();
  });
});

describe("a handoff code redeemed with the client", () => {
  let server: RunningServer;
  let app: ClientPageHost;
  let issuer: string;

  beforeAll(async () => {
    const appPort = await freePort();
    server = await startServerWithConfig({
      adminToken: ADMIN_TOKEN,
      allowedOrigins: [`http://localhost:${appPort}`],
    });
    issuer = server.url.replace("127.0.0.1", "localhost");
    app = await hostClientPage({ port: appPort });
  }, 30_000);
  afterAll(async () => {
    await app?.close();
    await server?.stop();
  });

  /** What the host's backend asks prolong's admin API for once its own login succeeded. */
  async function handoffCode(userId: string): Promise<string> {
    const response = await fetch(`${server.url}/admin/sessions`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ user_id: userId, device_name: "Chromium" }),
    });
    expect(response.status).toBe(200);
    return ((await response.json()) as { handoff_code: string }).handoff_code;
  }

  it("redeemHandoff(code) starts the session in one request; the cookie renews it; a spent code is refused", async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${app.origin}/`);
    const code = await handoffCode("user-7");
    // POSTs only: a cross-origin page's preflight reaches the endpoint too.
    const posts: string[] = [];
    page.on("request", (r) => {
      if (r.method() === "POST" && new URL(r.url()).pathname === "/oauth/token") posts.push(r.url());
    });
    const redeemed = await page.evaluate(
      async ({ iss, code }) => {
        const client = window.prolong.createSessionClient({ issuer: iss });
        (globalThis as unknown as { client: typeof client }).client = client;
        const events: string[] = [];
        client.on("authorized", ({ claims }) => events.push(`authorized ${claims.sub}`));
        await client.redeemHandoff(code);
        return { events, token: typeof client.accessToken };
      },
      { iss: issuer, code },
    );
    expect(redeemed).toEqual({ events: ["authorized user-7"], token: "string" });
    expect(posts).toHaveLength(1);

    const later = await page.evaluate(async (spent) => {
      const client = (
        globalThis as unknown as { client: ReturnType<typeof window.prolong.createSessionClient> }
      ).client;
      const held = client.accessToken;
      const renewed = await client.refresh();
      const refused = await client.redeemHandoff(spent).then(
        () => null,
        (error: { status: number; code: string }) => ({ status: error.status, code: error.code }),
      );
      return { renewed, changed: client.accessToken !== held, refused };
    }, code);
    expect(later).toEqual({ renewed: true, changed: true, refused: { status: 400, code: "invalid_grant" } });
    await page.context().close();
  });
});

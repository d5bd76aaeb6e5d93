// @module-tag chromium
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import { createProlong, type Prolong } from "@prolong/server";
import { CACHE_CONTROL_PRIVATE, createServerSessions, type ServerSessions } from "@prolong/ssr";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { launchChromium } from "./browser.js";
import { dbscPage, eventWhere, sleep, watchedPage } from "./dbsc-site.js";
import { freePort } from "./server-process.js";
import { type LoopbackCertificate, loopbackCertificate } from "./tls.js";

// A server-rendered app with prolong mounted at /auth (the access cookie on), renewing
// through @prolong/ssr before each render, with DBSC on: the browser's bound cookie must
// reach the token endpoint through the app's renewal, or the session stops renewing.
const TTL = 2;
const LIFETIME = 3;
const PASSWORD = "correct horse battery";

let tls: LoopbackCertificate;
let origin: string;
let prolong: Prolong;
let sessions: ServerSessions;
let app: Server;
let browser: Browser;

/** The Fetch API's view of a Node request, as a framework's adapter builds it. */
async function requestOf(incoming: IncomingMessage): Promise<Request> {
  const chunks: Buffer[] = [];
  for await (const chunk of incoming) chunks.push(chunk as Buffer);
  const headers = new Headers();
  for (const [name, value] of Object.entries(incoming.headers))
    for (const one of [value ?? []].flat()) headers.append(name, one);
  const body = chunks.length > 0 ? Buffer.concat(chunks) : null;
  return new Request(`${origin}${incoming.url}`, { method: incoming.method ?? "GET", headers, body });
}

async function send(response: ServerResponse, answer: Response): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  answer.headers.forEach((value, name) => {
    if (name !== "set-cookie") headers[name] = value;
  });
  const cookies = answer.headers.getSetCookie();
  if (cookies.length > 0) headers["set-cookie"] = cookies;
  response.writeHead(answer.status, headers).end(Buffer.from(await answer.arrayBuffer()));
}

/** The app's one page: renewed before it renders, as the framework adapters of @prolong/ssr do. */
async function renderPage(request: Request): Promise<Response> {
  const renewal = await sessions.renew(request);
  if (renewal.session === null && renewal.unavailable) return new Response("try again", { status: 503 });
  const headers = new Headers({ "content-type": "text/plain", "cache-control": CACHE_CONTROL_PRIVATE });
  for (const line of renewal.setCookies) headers.append("set-cookie", line);
  const text = renewal.session ? `signed in as ${renewal.session.subject}` : "signed out";
  return new Response(text, { headers });
}

beforeAll(async () => {
  tls = await loopbackCertificate();
  const port = await freePort();
  origin = `https://localhost:${port}`;
  prolong = await createProlong(
    {
      issuer: `${origin}/auth`,
      store: "memory:",
      cookies: { access: true },
      profiles: { web: { accessTokenTtl: TTL, dbsc: { enabled: true, cookieLifetimeSeconds: LIFETIME } } },
    },
    { engine: { passwordCost: { N: 1024, r: 8, p: 1 } }, logStream: { write: () => {} } },
  );
  await prolong.engine.createAccount({ username: "demo", password: PASSWORD });
  sessions = createServerSessions({ issuer: `${origin}/auth`, fetch: (request) => prolong.fetch(request) });
  app = createServer({ cert: tls.cert, key: tls.key }, (incoming, response) => {
    if (incoming.url === "/app")
      return void response.writeHead(200, { "content-type": "text/html" }).end(dbscPage("/auth"));
    requestOf(incoming)
      .then((request) => (incoming.url?.startsWith("/auth/") ? prolong.fetch(request) : renderPage(request)))
      .then((answer) => send(response, answer))
      .catch(() => response.writeHead(500).end());
  });
  await new Promise<void>((resolve) => app.listen(port, "127.0.0.1", resolve));
  browser = await launchChromium({ trustSpki: tls.spki, dbsc: true });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => app?.close(resolve));
  await prolong?.close();
});

it("renders signed in across renewals of the access token and of the bound cookie", async () => {
  const context = await browser.newContext();
  const { page, events } = await watchedPage(context);
  await page.goto(`${origin}/app`);
  expect(await page.evaluate((p) => window.signIn(p), PASSWORD)).toEqual({ status: 200, error: null });
  await eventWhere(events, (e) => e.creationEventDetails?.fetchResult === "Success");
  const account = await prolong.engine.findAccountByName("demo");
  const signedIn = `signed in as ${account?.subjectId}`;
  const accessCookie = async () =>
    (await context.cookies(origin)).find((c) => c.name === "__Host-prolong-at")?.value;

  let seen = await accessCookie();
  for (let round = 0; round < 2; round++) {
    // Past the access token's lifetime and the bound cookie's: the navigation waits for
    // Chromium's renewal of the bound cookie, then the render's renewal uses it.
    await sleep((LIFETIME + 1) * 1000);
    const answer = await page.goto(`${origin}/page`);
    expect(answer?.status()).toBe(200);
    expect(await answer?.text()).toBe(signedIn);
    const renewed = await accessCookie();
    expect(renewed).not.toBe(seen);
    seen = renewed;
  }
  expect(await eventWhere(events, (e) => e.refreshEventDetails?.refreshResult === "Refreshed")).toMatchObject(
    {
      succeeded: true,
    },
  );
  await context.close();
});

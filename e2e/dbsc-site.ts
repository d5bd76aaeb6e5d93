import { createServer, type Server } from "node:https";
import type { BrowserContext, CDPSession, Page } from "playwright-core";
import { forwardTo } from "./forward.js";
import { freePort, type RunningServer, startServerWithConfig } from "./server-process.js";
import { type LoopbackCertificate, loopbackCertificate } from "./tls.js";

/**
 * A site for browser tests of DBSC: `prolong serve` behind an HTTPS front on loopback
 * (DBSC runs on trusted HTTPS only, and prolong serves plain HTTP), its issuer the
 * front's origin, and the front's `/app` a page that signs in and refreshes as a web
 * client does. Everything else goes through to prolong unchanged.
 */
export interface DbscSite {
  origin: string;
  tls: LoopbackCertificate;
  prolong: RunningServer;
  close(): Promise<void>;
}

/**
 * The page at `/app`: `signIn(password)`, `refresh()` and `signOut()` report the status and
 * error code of each answer, for prolong's routes under `base` (the issuer's path).
 */
export const dbscPage = (base = "") => `<!doctype html>
<meta charset="utf-8">
<title>DBSC</title>
<script>
  const answer = async (r) => ({ status: r.status, error: (await r.json().catch(() => ({}))).error ?? null });
  window.signIn = (password) => fetch("${base}/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "demo", password, client_id: "web" }),
  }).then(answer);
  window.refresh = () => fetch("${base}/oauth/token", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", "prolong-csrf": "1" },
    body: "grant_type=refresh_token&client_id=web",
  }).then(answer);
  window.signOut = () => fetch("${base}/oauth/revoke", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", "prolong-csrf": "1" },
    body: "client_id=web",
  }).then(answer);
</script>`;

export async function startDbscSite(settings: Record<string, unknown>): Promise<DbscSite> {
  const tls = await loopbackCertificate();
  const port = await freePort();
  const origin = `https://localhost:${port}`;
  const prolong = await startServerWithConfig({ demo: true, store: "memory:", issuer: origin, ...settings });
  const upstream = new URL(prolong.url);
  const front: Server = createServer({ cert: tls.cert, key: tls.key }, (incoming, response) => {
    if (incoming.url === "/app")
      return void response.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(dbscPage());
    forwardTo({ host: upstream.hostname, port: upstream.port }, incoming, response);
  });
  await new Promise<void>((resolve) => front.listen(port, "127.0.0.1", resolve));
  return {
    origin,
    tls,
    prolong,
    async close() {
      await new Promise((resolve) => front.close(resolve));
      await prolong.stop();
    },
  };
}

declare global {
  interface Window {
    signIn(password: string): Promise<{ status: number; error: string | null }>;
    refresh(): Promise<{ status: number; error: string | null }>;
    signOut(): Promise<{ status: number; error: string | null }>;
  }
}

/** What Chromium reported of its DBSC sessions (CDP `Network.deviceBoundSessionEventOccurred`). */
export interface DbscEvent {
  sessionId?: string;
  succeeded: boolean;
  creationEventDetails?: { fetchResult: string };
  refreshEventDetails?: { refreshResult: string; fetchResult?: string };
  challengeEventDetails?: { challengeResult: string };
  terminationEventDetails?: { deletionReason: string };
}

/** A page of `context` whose DBSC events are recorded in `events`. */
export async function watchedPage(context: BrowserContext): Promise<{ page: Page; events: DbscEvent[] }> {
  const page = await context.newPage();
  const cdp: CDPSession = await context.newCDPSession(page);
  const events: DbscEvent[] = [];
  // Not in playwright-core's protocol types yet: the names are Chromium's.
  (cdp as unknown as { on(name: string, listener: (event: DbscEvent) => void): void }).on(
    "Network.deviceBoundSessionEventOccurred",
    (event) => events.push(event),
  );
  await cdp.send("Network.enable");
  await (cdp as unknown as { send(name: string, params: object): Promise<unknown> }).send(
    "Network.enableDeviceBoundSessions",
    { enable: true },
  );
  return { page, events };
}

/** Waits (at most 10 s, polling) until `events` has one `found` accepts. */
export async function eventWhere(
  events: DbscEvent[],
  found: (event: DbscEvent) => boolean,
): Promise<DbscEvent> {
  for (let waited = 0; waited < 10_000; waited += 100) {
    const event = events.find(found);
    if (event) return event;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no such DBSC event; Chromium reported ${JSON.stringify(events)}`);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

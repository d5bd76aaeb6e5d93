import { createSessionClient, type SessionClient } from "@prolong/client";
import { afterAll, describe, it } from "vitest";
import { backends, type StoppableStore } from "../backends.js";
import {
  type Deployment,
  deploy,
  eventCount,
  isActive,
  sessionsOf,
  sleep,
  startSessions,
} from "./deployment.js";
import { recordFigures } from "./figures.js";

// The database server goes away for 30 s while real `SessionClient`s (Node, native
// profile) keep their sessions alive against one `prolong serve`. Their access tokens
// last 4 s, so every client meets the outage several times over. The server answers 503
// with `Retry-After: 5` (docs/protocol.md, "Errors"); each client must keep its session,
// wait at least that long between attempts, and go on by itself once the store is back.
// The same outage at the HTTP level, under two instances: e2e/shared-store-outage.test.ts.

const CLIENTS = 8;
const TTL_SECONDS = 4;
const OUTAGE_MS = 30_000;
/** The server's Retry-After on 503 (packages/server/src/http-errors.ts). */
const RETRY_AFTER_MS = 5_000;
/** The backoff's cap here; the default 30 s would only make the wait after the outage longer. */
const MAX_RETRY_DELAY_MS = 10_000;

interface Attempt {
  at: number;
  answeredAt: number;
  /** The status, or 0 when the request got no answer. */
  status: number;
}

interface Observed {
  client: SessionClient;
  attempts: Attempt[];
  refreshedAt: number[];
  signedOut: string[];
  token: () => string;
}

function observedClient(issuer: string, refreshToken: string): Observed {
  const kept = { token: refreshToken as string | null };
  const attempts: Attempt[] = [];
  const refreshedAt: number[] = [];
  const signedOut: string[] = [];
  const client = createSessionClient({
    issuer,
    profile: "native",
    maxRetryDelay: MAX_RETRY_DELAY_MS,
    storage: {
      get: () => kept.token,
      set: (value) => {
        kept.token = value;
      },
    },
    fetch: async (input, init) => {
      if (!String(input).endsWith("/oauth/token")) return fetch(input, init);
      const attempt = { at: Date.now(), answeredAt: Number.POSITIVE_INFINITY, status: 0 };
      attempts.push(attempt);
      try {
        const response = await fetch(input, init);
        attempt.status = response.status;
        return response;
      } finally {
        attempt.answeredAt = Date.now();
      }
    },
  });
  client.on("refreshed", () => refreshedAt.push(Date.now()));
  client.on("signedOut", ({ reason }) => signedOut.push(reason));
  return { client, attempts, refreshedAt, signedOut, token: () => kept.token ?? "" };
}

const deployments: Deployment[] = [];
afterAll(async () => {
  await Promise.all(deployments.map((d) => d.close()));
});

describe.concurrent(`${CLIENTS} SessionClients while the store is down for 30 s`, () => {
  for (const backend of backends) {
    const { stoppable } = backend;
    if (!stoppable) continue;
    it(`on ${backend.name}: no session lost, retries spaced by Retry-After, all go on after`, {
      timeout: 120_000,
      tags: backend.needs,
    }, async ({ expect }) => {
      const store: StoppableStore = await stoppable();
      const deployment = await deploy(store, { profiles: { native: { accessTokenTtl: TTL_SECONDS } } });
      deployments.push(deployment);
      const server = await deployment.start();
      const subject = `outage-${backend.name}`;
      const sessions = await startSessions(server.url, subject, CLIENTS);
      // The server's issuer, its default: the metadata names it, and the client checks (RFC 8414 §3.3).
      const issuer = server.url.replace("127.0.0.1", "localhost");
      const observed = sessions.map((s) => observedClient(issuer, s.refresh_token));
      try {
        expect(await Promise.all(observed.map((o) => o.client.start()))).toEqual(Array(CLIENTS).fill(true));
        // Every client renews on its own before the outage.
        await expect
          .poll(() => observed.every((o) => o.refreshedAt.length >= 2), { timeout: 20_000, interval: 100 })
          .toBe(true);

        await store.stop();
        const downAt = Date.now();
        await sleep(OUTAGE_MS);
        // Attempts from here on may meet the store coming back.
        const restartAt = Date.now();
        await store.start();
        const upAt = Date.now();

        // Each goes on by itself: a refresh after the store came back, and its token works.
        await expect
          .poll(() => observed.every((o) => o.refreshedAt.some((t) => t > upAt)), {
            timeout: MAX_RETRY_DELAY_MS + 15_000,
            interval: 100,
          })
          .toBe(true);
        for (const o of observed) {
          const response = await o.client.fetch(`${issuer}/sessions`);
          expect(response.status).toBe(200);
          await response.arrayBuffer();
        }

        const during = observed.map((o) => o.attempts.filter((a) => a.at >= downAt && a.at < restartAt));
        const gaps = during.flatMap((attempts) =>
          attempts.slice(1).map((a, i) => a.at - (attempts[i] as Attempt).at),
        );
        for (const attempts of during) {
          // It kept trying, without hammering: no sooner than Retry-After each time.
          expect(attempts.length).toBeGreaterThanOrEqual(2);
          expect(attempts.length).toBeLessThanOrEqual(Math.floor(OUTAGE_MS / RETRY_AFTER_MS) + 2);
          // A failure of ours, said as one: never a grant failure. (An attempt still waiting
          // for the store when it came back may have been answered 200.)
          for (const a of attempts) if (a.answeredAt < restartAt) expect([0, 503]).toContain(a.status);
        }
        expect(Math.min(...gaps)).toBeGreaterThanOrEqual(RETRY_AFTER_MS - 100);
        expect(observed.flatMap((o) => o.signedOut)).toEqual([]);

        const listed = await sessionsOf(server.url, subject);
        expect(listed.map((s) => s.state)).toEqual(Array(CLIENTS).fill("live"));
        for (const o of observed) expect(await isActive(server.url, o.token())).toBe(true);
        expect(await eventCount(server.url, "reuse_detected")).toBe(0);

        const counts = during.map((a) => a.length);
        recordFigures(`client-store-outage-${backend.name}`, {
          store: backend.name,
          clients: CLIENTS,
          accessTokenTtlSeconds: TTL_SECONDS,
          outageMs: restartAt - downAt,
          retryAfterSeconds: RETRY_AFTER_MS / 1000,
          attemptsPerClientDuringOutage: { min: Math.min(...counts), max: Math.max(...counts) },
          attemptsDuringOutage: counts.reduce((a, b) => a + b, 0),
          shortestGapBetweenAttemptsMs: Math.min(...gaps),
          slowestAnswerDuringOutageMs: Math.max(...during.flat().map((a) => a.answeredAt - a.at)),
          longestGapBetweenAttemptsMs: Math.max(...gaps),
          slowestRecoveryMs: Math.max(
            ...observed.map((o) => (o.refreshedAt.find((t) => t > upAt) as number) - upAt),
          ),
          signedOut: 0,
          sessionsChecked: listed.length,
          sessionsLost: 0,
        });
      } finally {
        for (const o of observed) o.client.stop();
      }
    });
  }
});

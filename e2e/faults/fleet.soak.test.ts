import { createSessionClient, type SessionClient } from "@prolong/client";
import { afterAll, describe, expect, it } from "vitest";
import { backends, type StoppableStore } from "../backends.js";
import type { RunningServer } from "../server-process.js";
import { type Balancer, startBalancer } from "./balancer.js";
import {
  type Deployment,
  deploy,
  eventCount,
  GENEROUS_LIMITS,
  generationOf,
  isActive,
  refresh,
  sessionsOf,
  sleep,
  startSessions,
  type Tokens,
} from "./deployment.js";
import { recordFigures } from "./figures.js";

// `npm run soak` (vitest.soak.config.ts), never `npm test`: minutes of sustained refresh
// load on three instances behind a load balancer, on PostgreSQL and then on Redis, while
// an instance is SIGKILLed and started again every minute and the database server goes
// away for 30 s in the middle. HTTP clients loop refreshes as fast as a busy fleet would;
// real SessionClients (native) keep their own sessions alive beside them. At the end
// every session must be live, at the generation its client saw answered, and no reuse
// may have been detected. SOAK_MINUTES sets each store's run (default 7: about 15 minutes
// in all); every loop stops by itself at its deadline.

const MINUTES = Number(process.env.SOAK_MINUTES ?? 7);
const RUN_MS = MINUTES * 60_000;
const HTTP_CLIENTS = 60;
const SESSION_CLIENTS = 10;
const INSTANCES = 3;
const OUTAGE_MS = 30_000;
/** Access tokens of the SessionClients: they renew every few seconds. */
const TTL_SECONDS = 10;
/** Each HTTP client's pause between refreshes, ms: a few hundred refreshes a second in all. */
const PACE_MS = 200;

interface LoopClient {
  token: string;
  successes: number;
  /** Why its session was lost, if it was: the answer that ended it. */
  lost: string | null;
}

interface Tally {
  refreshes: number;
  unavailable: number;
  networkErrors: number;
}

/**
 * One HTTP client: refreshes until `end`, and through any failure of ours retries the
 * token it holds, after Retry-After on a 503, at once elsewhere when a connection broke.
 */
async function loop(url: string, client: LoopClient, end: number, tally: Tally): Promise<void> {
  while (Date.now() < end && client.lost === null) {
    await sleep(PACE_MS * (0.5 + Math.random()));
    for (let attempt = 0; attempt < 100 && Date.now() < end + 60_000; attempt++) {
      let response: Response;
      try {
        response = await refresh(url, client.token);
      } catch {
        tally.networkErrors += 1;
        await sleep(100 * 2 ** Math.min(attempt, 4));
        continue;
      }
      if (response.status === 200) {
        client.token = ((await response.json()) as Tokens).refresh_token;
        client.successes += 1;
        tally.refreshes += 1;
        break;
      }
      const text = await response.text();
      if (response.status === 503) {
        tally.unavailable += 1;
        await sleep(Number(response.headers.get("retry-after") ?? "5") * 1000);
        continue;
      }
      client.lost = `${response.status} ${text}`;
      return;
    }
  }
}

const deployments: Deployment[] = [];
const balancers: Balancer[] = [];
afterAll(async () => {
  await Promise.all(balancers.map((b) => b.close()));
  await Promise.all(deployments.map((d) => d.close()));
});

describe("soak: three instances under load, instances killed, the store down once", () => {
  for (const backend of backends) {
    const { stoppable } = backend;
    if (!stoppable) continue;
    it(`on ${backend.name} for ${MINUTES} minutes: no session lost, none forked`, {
      timeout: RUN_MS + 10 * 60_000,
      tags: backend.needs,
    }, async () => {
      const store: StoppableStore = await stoppable();
      const balancer = await startBalancer();
      balancers.push(balancer);
      const deployment = await deploy(store, {
        issuer: balancer.url,
        rateLimits: GENEROUS_LIMITS,
        profiles: { native: { accessTokenTtl: TTL_SECONDS } },
      });
      deployments.push(deployment);
      const instances: (RunningServer | null)[] = [];
      for (let i = 0; i < INSTANCES; i++) instances.push(await deployment.start());
      const route = () => balancer.setTargets(instances.flatMap((s) => (s ? [s.url] : [])));
      route();

      const subject = `soak-${backend.name}`;
      const started = await startSessions(balancer.url, subject, HTTP_CLIENTS + SESSION_CLIENTS);
      const loopClients: LoopClient[] = started
        .slice(0, HTTP_CLIENTS)
        .map((s) => ({ token: s.refresh_token, successes: 0, lost: null }));
      const signedOut: string[] = [];
      const kept = started.slice(HTTP_CLIENTS).map((s) => ({ token: s.refresh_token as string | null }));
      const sessionClients: SessionClient[] = kept.map((k) => {
        const client = createSessionClient({
          issuer: balancer.url,
          profile: "native",
          maxRetryDelay: 10_000,
          storage: {
            get: () => k.token,
            set: (value) => {
              k.token = value;
            },
          },
        });
        client.on("signedOut", ({ reason }) => signedOut.push(reason));
        return client;
      });

      const begin = Date.now();
      const end = begin + RUN_MS;
      const outageAt = begin + RUN_MS * 0.4;
      const tally: Tally = { refreshes: 0, unavailable: 0, networkErrors: 0 };
      let kills = 0;
      let outageMs = 0;
      try {
        expect(await Promise.all(sessionClients.map((c) => c.start()))).toEqual(
          Array(SESSION_CLIENTS).fill(true),
        );
        const load = Promise.all(loopClients.map((c) => loop(balancer.url, c, end, tally)));

        // The chaos: an instance killed every minute (not while the store is down, when
        // a new one could not start), the store stopped once for 30 s.
        const killEvery = Math.min(60_000, RUN_MS / 4);
        let outageDone = false;
        let lastKill = begin;
        for (let round = 0; round < 1000 && Date.now() < end - killEvery / 2; round++) {
          if (!outageDone && Date.now() >= outageAt) {
            await store.stop();
            const from = Date.now();
            await sleep(OUTAGE_MS);
            await store.start();
            outageMs = Date.now() - from;
            outageDone = true;
            // The instances find the store again before the next kill.
            await sleep(10_000);
            continue;
          }
          const nextKill = lastKill + killEvery;
          await sleep(Math.max(0, (outageDone ? nextKill : Math.min(nextKill, outageAt)) - Date.now()));
          if (!outageDone && Date.now() >= outageAt) continue;
          const victim = kills % INSTANCES;
          const server = instances[victim] as RunningServer;
          instances[victim] = null;
          route();
          server.child.kill("SIGKILL");
          await server.stop();
          kills += 1;
          lastKill = Date.now();
          await sleep(2_000);
          instances[victim] = await deployment.start();
          route();
        }
        await load;
      } finally {
        for (const c of sessionClients) c.stop();
      }

      // Every session is live, at the generation its client saw answered.
      const lost = loopClients.filter((c) => c.lost !== null).map((c) => c.lost);
      expect(lost).toEqual([]);
      expect(signedOut).toEqual([]);
      for (const c of loopClients) {
        expect(generationOf(c.token)).toBe(c.successes);
        expect(await isActive(balancer.url, c.token)).toBe(true);
      }
      for (const k of kept) expect(await isActive(balancer.url, k.token ?? "")).toBe(true);
      const sessions = await sessionsOf(balancer.url, subject);
      expect(sessions.map((s) => s.state)).toEqual(Array(HTTP_CLIENTS + SESSION_CLIENTS).fill("live"));
      expect(await eventCount(balancer.url, "reuse_detected")).toBe(0);

      recordFigures(`soak-${backend.name}`, {
        store: backend.name,
        minutes: MINUTES,
        instances: INSTANCES,
        httpClients: HTTP_CLIENTS,
        sessionClients: SESSION_CLIENTS,
        refreshes: tally.refreshes,
        refreshesPerSecond: Math.round(tally.refreshes / ((Date.now() - begin) / 1000)),
        instanceKills: kills,
        storeOutageMs: outageMs,
        answers503: tally.unavailable,
        networkErrors: tally.networkErrors,
        sessionsChecked: sessions.length,
        sessionsLost: lost.length + signedOut.length,
        sessionsForked: loopClients.filter((c) => generationOf(c.token) !== c.successes).length,
        reuseDetected: 0,
      });
    });
  }
});

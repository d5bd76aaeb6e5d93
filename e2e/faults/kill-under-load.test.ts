import { afterAll, describe, expect, it } from "vitest";
import { backends } from "../backends.js";
import type { RunningServer } from "../server-process.js";
import {
  type Deployment,
  deploy,
  eventCount,
  GENEROUS_LIMITS,
  generationOf,
  isActive,
  refresh,
  sessionsOf,
  startSessions,
  type Tokens,
} from "./deployment.js";
import { recordFigures } from "./figures.js";

// `kill -9` of the only server in the middle of sustained refresh load, then a new server
// on the same store. A request the dead server never answered may or may not have
// committed its rotation; the client cannot tell, keeps the token it holds and sends it
// again, and the grace window (docs/protocol.md, "Session policy defaults") answers with
// the successor the store already holds. Nobody is signed out, and no session forks: a
// session has one current refresh token (the store's `currentHash`), and it is the one its
// client holds. Several instances with one killed: e2e/scale-out.test.ts.

const SESSIONS = 40;
/** Refreshes (all clients together) before the kill: the load is in full swing then. */
const KILL_AFTER = 400;
/** Refreshes each client makes on the new server. */
const ROUNDS_AFTER = 5;
/** Bound of every client's loop, whatever happens. */
const MAX_ROUNDS = 400;
const SUBJECT = "kill-load-user";

interface Client {
  /** The refresh token this client holds: the last one an answer gave it. */
  token: string;
  /** The one before, which a second holder (another tab) might still present. */
  previous: string | null;
  /** Answers 200 it got: each is one rotation the client knows of. */
  successes: number;
  /** How the kill met it: its request cut, its request refused (sent after), or between requests. */
  atKill: "cut" | "refused" | "between" | null;
  /** Its rotation committed but the answer was lost with the server. */
  unseenCommit: boolean;
}

/** What undici says a socket error was: `ECONNREFUSED` for a port nobody listens on. */
const causeCode = (error: unknown) => ((error as { cause?: { code?: string } }).cause?.code ?? "") as string;

for (const backend of backends) {
  describe(`the only server on ${backend.name}, SIGKILLed under refresh load from ${SESSIONS} clients`, {
    tags: backend.needs,
  }, () => {
    let deployment: Deployment | undefined;
    afterAll(() => deployment?.close());

    it("restarted on the same store: every session goes on, none signed out, none forked", async () => {
      deployment = await deploy(await backend.store(), { rateLimits: GENEROUS_LIMITS });
      const first = await deployment.start();
      const started = await startSessions(first.url, SUBJECT, SESSIONS);
      const clients: Client[] = started.map((s: Tokens) => ({
        token: s.refresh_token,
        previous: null,
        successes: 0,
        atKill: null,
        unseenCommit: false,
      }));

      let url = first.url;
      let killed = false;
      let refreshes = 0;
      let inFlight = 0;
      let restart: () => void = () => {};
      const restarted = new Promise<void>((resolve) => {
        restart = resolve;
      });
      let stopAll = false;

      const adopt = async (client: Client, response: Response) => {
        expect(response.status, await response.clone().text()).toBe(200);
        const body = (await response.json()) as Tokens;
        client.previous = client.token;
        client.token = body.refresh_token;
        client.successes += 1;
        refreshes += 1;
      };

      // Each client refreshes in a loop; when the server dies under it, it waits for the
      // new one and presents the token it holds, as a real client retries.
      const run = async (client: Client) => {
        let afterRestart = 0;
        for (let round = 0; round < MAX_ROUNDS && !stopAll; round++) {
          if (killed && client.atKill === null) {
            // Between requests when the server died: the answer it holds is the last one.
            client.atKill = "between";
            await restarted;
          }
          let response: Response;
          inFlight += 1;
          try {
            response = await refresh(url, client.token);
          } catch (error) {
            if (!killed) throw error;
            client.atKill ??= causeCode(error) === "ECONNREFUSED" ? "refused" : "cut";
            await restarted;
            // The store knows whether the lost request rotated: introspection says the
            // token this client holds is no longer the current one.
            client.unseenCommit = !(await isActive(url, client.token));
            continue;
          } finally {
            inFlight -= 1;
          }
          await adopt(client, response);
          if (client.atKill !== null && ++afterRestart >= ROUNDS_AFTER) return;
        }
      };

      const load = Promise.all(clients.map(run));
      let inFlightAtKill = 0;
      let restartMs = 0;
      let refreshesBeforeKill = 0;
      try {
        await expect
          .poll(() => refreshes, { timeout: 30_000, interval: 2 })
          .toBeGreaterThanOrEqual(KILL_AFTER);
        inFlightAtKill = inFlight;
        refreshesBeforeKill = refreshes;
        killed = true;
        first.child.kill("SIGKILL");
        await first.stop();
        const from = Date.now();
        const second: RunningServer = await deployment.start();
        restartMs = Date.now() - from;
        url = second.url;
        restart();
        await load;
      } finally {
        stopAll = true;
        restart();
        await load.catch(() => {});
      }

      // Not one client was left out: each got through the kill and refreshed afterwards.
      expect(clients.every((c) => c.atKill !== null)).toBe(true);
      const sessions = await sessionsOf(url, SUBJECT);
      // None duplicated: the store holds exactly the sessions it was given, all live.
      expect(sessions.length).toBe(SESSIONS);
      expect(sessions.filter((s) => s.state !== "live")).toEqual([]);
      for (const client of clients) {
        // The client's token is its session's current one: the one lineage is the client's…
        expect(await isActive(url, client.token)).toBe(true);
        // …and no rotation happened that the client did not see an answer for: the store is
        // at the generation the client counted (an unseen commit was answered by the replay).
        expect(generationOf(client.token)).toBe(client.successes);
        // A second presentation of the token before it (another tab, a retry) lands on the
        // very token the client holds: two holders converge, they do not fork.
        const replay = await refresh(url, client.previous as string);
        expect(replay.status).toBe(200);
        expect(((await replay.json()) as Tokens).refresh_token).toBe(client.token);
        expect(await isActive(url, client.token)).toBe(true);
      }
      expect(await eventCount(url, "reuse_detected")).toBe(0);
      expect(await eventCount(url, "session_revoked")).toBe(0);

      const cut = clients.filter((c) => c.atKill === "cut").length;
      const unseen = clients.filter((c) => c.unseenCommit).length;
      recordFigures(`kill-under-load-${backend.name}`, {
        store: backend.name,
        clients: SESSIONS,
        refreshesBeforeKill,
        requestsInFlightAtKill: inFlightAtKill,
        requestsCutByKill: cut,
        rotationsCommittedButUnanswered: unseen,
        restartMs,
        refreshesTotal: refreshes,
        sessionsChecked: sessions.length,
        sessionsLost: SESSIONS - sessions.filter((s) => s.state === "live").length,
        sessionsForked: clients.filter((c) => generationOf(c.token) !== c.successes).length,
        reuseDetected: 0,
      });
    }, 120_000);
  });
}

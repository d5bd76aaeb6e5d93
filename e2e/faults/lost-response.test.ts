import { createSessionClient } from "@prolong/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
  refreshed,
  sessionsOf,
  startSessions,
  type Tokens,
} from "./deployment.js";
import { recordFigures } from "./figures.js";
import { type Loss, type LossyProxy, startLossyProxy } from "./lossy-proxy.js";

// The server commits a rotation and the client never sees the answer: the connection
// breaks after the server began to send it (a TCP proxy between the two loses it). The
// client still holds the rotated token; sent again inside the grace window it gets the
// successor the store already holds (docs/protocol.md, "Session policy defaults": the
// grace window covers "a lost response"), so nothing is lost and nothing forks.

const TOKEN_REQUEST = "POST /oauth/token";
const SUBJECT = "lost-answer-user";
const LOSSES: Loss[] = ["drop", "truncate"];

for (const backend of backends) {
  describe(`an answer lost after the rotation committed, on ${backend.name}`, { tags: backend.needs }, () => {
    let proxy: LossyProxy;
    let deployment: Deployment;
    let server: RunningServer;
    const figures: Record<string, unknown> = { store: backend.name };

    beforeAll(async () => {
      proxy = await startLossyProxy();
      // The issuer is the proxy: the client SDK finds its endpoints there.
      deployment = await deploy(await backend.store(), { issuer: proxy.url, rateLimits: GENEROUS_LIMITS });
      server = await deployment.start();
      proxy.target(server.url);
    }, 60_000);
    afterAll(async () => {
      await proxy?.close();
      await deployment?.close();
    });

    for (const loss of LOSSES) {
      it(`HTTP (${loss}): the retry inside the grace window gets the one successor`, async () => {
        const [session] = (await startSessions(server.url, SUBJECT, 1)) as [Tokens];
        proxy.loseNext(TOKEN_REQUEST, loss);
        // Dropped: fetch fails; truncated: the head says 200, and reading the body fails.
        const lost = await refresh(proxy.url, session.refresh_token)
          .then((response) => response.json())
          .catch((error: unknown) => error);
        expect(lost).toBeInstanceOf(Error);
        // The rotation committed: the token the client holds is no longer the current one.
        expect(await isActive(server.url, session.refresh_token)).toBe(false);

        const retried = await refreshed(proxy.url, session.refresh_token);
        const again = await refreshed(server.url, session.refresh_token);
        expect(again.refresh_token).toBe(retried.refresh_token);
        expect(generationOf(retried.refresh_token)).toBe(1);
        expect(await isActive(server.url, retried.refresh_token)).toBe(true);
        // And the session goes on from there.
        const next = await refreshed(proxy.url, retried.refresh_token);
        expect(generationOf(next.refresh_token)).toBe(2);
        figures[`http-${loss}`] = { answersLost: 1, retriesNeeded: 1, sameSuccessor: true, sessionsLost: 0 };
      }, 30_000);

      it(`SessionClient (${loss}): retries by itself and keeps its session`, async () => {
        const [session] = (await startSessions(server.url, SUBJECT, 1)) as [Tokens];
        // The client's storage, read by the test as the device's disk would be.
        const kept = { token: session.refresh_token as string | null };
        const stored = () => kept.token ?? "";
        const attempts: number[] = [];
        const client = createSessionClient({
          issuer: proxy.url,
          profile: "native",
          storage: {
            get: () => kept.token,
            set: (value) => {
              kept.token = value;
            },
          },
          fetch: (input, init) => {
            if (String(input).endsWith("/oauth/token")) attempts.push(Date.now());
            return fetch(input, init);
          },
        });
        const errors: unknown[] = [];
        const signedOut: string[] = [];
        client.on("error", ({ error }) => errors.push(error));
        client.on("signedOut", ({ reason }) => signedOut.push(reason));
        try {
          expect(await client.start()).toBe(true);
          const held = stored();
          expect(generationOf(held)).toBe(1);

          proxy.loseNext(TOKEN_REQUEST, loss);
          const before = attempts.length;
          expect(await client.refresh()).toBe(true);
          // One attempt lost, one retry, answered with the successor the store holds.
          const tried = attempts.length - before;
          expect(tried).toBe(2);
          expect(errors).toHaveLength(1);
          expect(generationOf(stored())).toBe(2);
          expect(await isActive(server.url, stored())).toBe(true);
          expect(await isActive(server.url, held)).toBe(false);
          // A replay of the held token still lands on the client's token: no fork.
          expect((await refreshed(server.url, held)).refresh_token).toBe(stored());

          expect(await client.refresh()).toBe(true);
          expect(generationOf(stored())).toBe(3);
          expect(signedOut).toEqual([]);
          figures[`client-${loss}`] = {
            answersLost: 1,
            attempts: tried,
            retryDelayMs: (attempts[before + 1] as number) - (attempts[before] as number),
            sessionsLost: 0,
          };
        } finally {
          client.stop();
        }
      }, 30_000);
    }

    it("left every session live and detected no reuse", async () => {
      const sessions = await sessionsOf(server.url, SUBJECT);
      expect(sessions).toHaveLength(2 * LOSSES.length);
      expect(sessions.filter((s) => s.state !== "live")).toEqual([]);
      expect(await eventCount(server.url, "reuse_detected")).toBe(0);
      expect(proxy.lost).toBe(2 * LOSSES.length);
      recordFigures(`lost-response-${backend.name}`, {
        ...figures,
        sessionsChecked: sessions.length,
        sessionsLost: 0,
      });
    });
  });
}

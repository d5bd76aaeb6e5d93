import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createVerifier, type Verifier } from "@prolong/verify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends } from "../backends.js";
import type { RunningServer } from "../server-process.js";
import {
  type Deployment,
  deploy,
  eventCount,
  GENEROUS_LIMITS,
  isActive,
  refresh,
  refreshed,
  sessionsOf,
  sleep,
  startSessions,
  type Tokens,
} from "./deployment.js";
import { recordFigures } from "./figures.js";

// The server's clock jumps while sessions are live: forward and back, by more than the
// 5 s clock tolerance (docs/protocol.md, "Access tokens and soft expiry") and by much more
// than the 30 s grace window. The server has no clock hook of its own (the engine's is for
// embedders), so its process runs with e2e/fixtures/clock-offset.mjs preloaded, which adds
// an offset the test changes at run time to `Date.now`.
//
// What the tolerance governs: only the time claims of access tokens (`exp` + 5 s, `iat`
// at most 5 s ahead), checked by the server's bearer routes and by resource servers. A
// session's own limits (idle timeout, absolute lifetime, grace window) are compared with
// times the same clock wrote into the store, so a jump moves "now" against them by the
// size of the jump and nothing more: with a 15-minute idle timeout, a 10-minute jump
// expires nothing. A jump may make an access token minted before it unusable at the
// bearer routes (expired, or issued "in the future"); that is a 401 `invalid_token`,
// which clients answer with a refresh, never a sign-out. Beyond the tolerance, a resource
// server whose clock stayed right refuses the tokens a server ahead of it mints (`iat` in
// its future) until the two agree within 5 s again: measured below, not a session's end.

const PRELOAD = new URL("../fixtures/clock-offset.mjs", import.meta.url).pathname;
const SESSIONS = 10;
const SUBJECT = "clock-jump-user";
/** Idle timeout of the native profile here: longer than the largest jump, so none may expire. */
const IDLE_SECONDS = 15 * 60;

/** Offsets of the server's clock from the real one, in order; each change is a jump. */
const JUMPS = [
  { name: "+3 s (within the tolerance)", offsetMs: 3_000 },
  { name: "+30 s", offsetMs: 30_000 },
  { name: "-30 s (a 60 s step back)", offsetMs: -30_000 },
  { name: "+10 min", offsetMs: 600_000 },
  { name: "back to real time (a 10 min step back)", offsetMs: 0 },
];

const claimsOf = (accessToken: string) =>
  JSON.parse(Buffer.from(accessToken.split(".")[1] ?? "", "base64url").toString()) as {
    iat: number;
    iss: string;
  };

/** The server's own bearer route: what it makes of an access token. */
async function bearer(url: string, accessToken: string): Promise<{ status: number; challenge: string }> {
  const response = await fetch(`${url}/sessions`, { headers: { authorization: `Bearer ${accessToken}` } });
  await response.arrayBuffer();
  return { status: response.status, challenge: response.headers.get("www-authenticate") ?? "" };
}

for (const backend of backends) {
  describe(`the server's clock jumping, on ${backend.name}`, { tags: backend.needs }, () => {
    let dir: string;
    let offsetFile: string;
    let deployment: Deployment;
    let server: RunningServer;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "prolong-clock-"));
      offsetFile = join(dir, "offset-ms");
      writeFileSync(offsetFile, "0");
      deployment = await deploy(await backend.store(), {
        profiles: { native: { idleTimeout: IDLE_SECONDS } },
        rateLimits: GENEROUS_LIMITS,
      });
      server = await deployment.start({
        NODE_OPTIONS: `--import=${PRELOAD}`,
        FAULT_CLOCK_OFFSET_FILE: offsetFile,
      });
    }, 60_000);
    afterAll(async () => {
      await deployment?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it("moves by each jump and expires, revokes or signs out no session", async () => {
      const sessions = await startSessions(server.url, SUBJECT, SESSIONS);
      const [probe, ...rest] = sessions as [Tokens, ...Tokens[]];
      const held = rest.map((s) => ({ refresh: s.refresh_token, access: s.access_token }));
      // A resource server on the real clock, with the default tolerance.
      const verifier: Verifier = await createVerifier({
        issuer: claimsOf(probe.access_token).iss,
        audience: "prolong",
        jwksUri: `${server.url}/.well-known/jwks.json`,
      });
      let probeToken = probe.refresh_token;
      const figures: Record<string, unknown>[] = [];

      for (const jump of JUMPS) {
        writeFileSync(offsetFile, String(jump.offsetMs));
        // The server's clock, read from the `iat` it puts in a new token, shows the jump.
        let skewMs = Number.NaN;
        for (let attempt = 0; attempt < 30; attempt++) {
          const tokens = await refreshed(server.url, probeToken);
          probeToken = tokens.refresh_token;
          skewMs = claimsOf(tokens.access_token).iat * 1000 - Date.now();
          if (Math.abs(skewMs - jump.offsetMs) < 1500) break;
          await sleep(100);
        }
        expect(Math.abs(skewMs - jump.offsetMs)).toBeLessThan(1500);

        // Access tokens minted before the jump: accepted, or refused as a bad token (the
        // client's cue to refresh), never anything that ends a session.
        const before = await Promise.all(held.map((h) => bearer(server.url, h.access)));
        for (const answer of before) {
          if (answer.status !== 200) {
            expect(answer.status).toBe(401);
            expect(answer.challenge).toContain('error="invalid_token"');
          }
        }
        // Every session refreshes, and its new token works at once.
        for (const h of held) {
          const response = await refresh(server.url, h.refresh);
          expect(response.status, await response.clone().text()).toBe(200);
          const tokens = (await response.json()) as Tokens;
          h.refresh = tokens.refresh_token;
          h.access = tokens.access_token;
          expect((await bearer(server.url, h.access)).status).toBe(200);
          expect(await isActive(server.url, h.refresh)).toBe(true);
        }
        const acceptedElsewhere = (
          await Promise.all(held.map(async (h) => (await verifier.verify(h.access)).ok))
        ).filter(Boolean).length;
        if (Math.abs(jump.offsetMs) < 5_000) expect(acceptedElsewhere).toBe(held.length);
        const listed = await sessionsOf(server.url, SUBJECT);
        expect(listed.map((s) => s.state)).toEqual(Array(SESSIONS).fill("live"));
        // The idle deadline slid from the server's "now", jump included.
        const serverNow = Date.now() + jump.offsetMs;
        for (const s of listed) {
          expect(Date.parse(s.expires_at as string)).toBeGreaterThan(serverNow + (IDLE_SECONDS - 60) * 1000);
        }
        figures.push({
          jump: jump.name,
          serverSkewMs: Math.round(skewMs),
          earlierAccessTokensAccepted: before.filter((a) => a.status === 200).length,
          earlierAccessTokensRefused401: before.filter((a) => a.status === 401).length,
          freshTokensAcceptedByRealClockVerifier: acceptedElsewhere,
          sessionsRefreshed: held.length,
          sessionsLive: listed.length,
        });
      }
      expect(await eventCount(server.url, "reuse_detected")).toBe(0);
      expect(await eventCount(server.url, "session_revoked")).toBe(0);
      recordFigures(`clock-jump-${backend.name}`, {
        store: backend.name,
        clockTolerance: "5 s (access tokens only)",
        idleTimeoutSeconds: IDLE_SECONDS,
        jumps: figures,
        sessionsChecked: SESSIONS,
        sessionsLost: 0,
      });
    }, 90_000);
  });
}

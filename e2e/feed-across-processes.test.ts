import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRevocationFeed, type RevocationFeed } from "@prolong/verify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningServer, runCli, startServerProcess } from "./server-process.js";

// Two `prolong serve` processes on one SQLite file, and the CLI on it too: a revocation
// made anywhere must reach the subscribers of server A within 2 s (docs/protocol.md,
// "Revocation feed").
const RESOURCE_SECRET = "resource-secret-shared-by-both-servers";
const ADMIN_TOKEN = "admin-token-for-the-feed-e2e-test";
const PASSWORD = "correct horse battery";
const NEW_PASSWORD = "a brand new passphrase";
const DEADLINE_MS = 2000;

let dir: string;
let cli: string[];
let serverA: RunningServer;
let serverB: RunningServer;
let feed: RevocationFeed;

function start(): Promise<RunningServer> {
  return startServerProcess(["--config", join(dir, "config.json")], {
    PROLONG_RESOURCE_SECRET: RESOURCE_SECRET,
    PROLONG_ADMIN_TOKEN: ADMIN_TOKEN,
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "prolong-two-servers-"));
  const store = `sqlite:${join(dir, "prolong.db")}`;
  writeFileSync(join(dir, "config.json"), JSON.stringify({ store, demo: false }));
  cli = ["--store", store];
  for (const name of ["alice", "bob", "carol", "dave", "erin"]) {
    const added = await runCli(["users", "add", name, "--password", PASSWORD, ...cli]);
    expect(added.code, added.stderr).toBe(0);
  }
  serverA = await start();
  serverB = await start();
  feed = createRevocationFeed({
    url: `${serverA.url}/revocations/feed`,
    credentials: { secret: RESOURCE_SECRET },
    minBackoffMs: 50,
    maxBackoffMs: 200,
  });
  await feed.waitUntilLive(5000);
}, 60_000);

afterAll(async () => {
  await feed?.close();
  await serverA?.stop();
  await serverB?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Signs in at server B; returns the access token's claims that the feed keys on. */
async function signInAtB(username: string, password = PASSWORD) {
  const response = await fetch(`${serverB.url}/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password, client_id: "native" }),
  });
  expect(response.status, await response.clone().text()).toBe(200);
  const body = (await response.json()) as { access_token: string; session_id: string };
  const claims = JSON.parse(Buffer.from(body.access_token.split(".")[1] ?? "", "base64url").toString());
  return {
    token: body.access_token,
    sid: body.session_id,
    sub: claims.sub as string,
    ver: claims.ver as number,
  };
}

/** Waits until server A's subscriber refuses `claims`; returns how long it took. */
async function reachesA(claims: { sid: string; sub: string; ver: number }): Promise<number> {
  const from = Date.now();
  await expect.poll(() => feed.isRevoked(claims), { timeout: DEADLINE_MS, interval: 10 }).toBe(true);
  return Date.now() - from;
}

const asUser = (token: string) => ({
  authorization: `Bearer ${token}`,
  "content-type": "application/json",
});

describe("revocations reach server A's feed, whichever process made them", () => {
  it("a session revoked with the CLI", async () => {
    const alice = await signInAtB("alice");
    expect(feed.isRevoked(alice)).toBe(false);
    const revoked = await runCli(["sessions", "revoke", alice.sid, ...cli]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(await reachesA(alice)).toBeLessThan(DEADLINE_MS);
  });

  it("a user disabled with the CLI", async () => {
    const bob = await signInAtB("bob");
    const disabled = await runCli(["users", "disable", "bob", ...cli]);
    expect(disabled.code, disabled.stderr).toBe(0);
    expect(await reachesA(bob)).toBeLessThan(DEADLINE_MS);
  });

  it("log out everywhere at server B", async () => {
    const carol = await signInAtB("carol");
    const other = await signInAtB("carol");
    const response = await fetch(`${serverB.url}/logout`, {
      method: "POST",
      headers: asUser(carol.token),
      body: JSON.stringify({ everywhere: true }),
    });
    expect(response.status).toBeLessThan(300);
    // The version bump covers every token carol holds, the other device's too.
    expect(await reachesA(other)).toBeLessThan(DEADLINE_MS);
    expect(feed.isRevoked({ sid: "a-session-signed-in-later", sub: carol.sub, ver: carol.ver })).toBe(true);
  });

  it("a password change at server B ends the user's other sessions", async () => {
    const kept = await signInAtB("dave");
    const other = await signInAtB("dave");
    const response = await fetch(`${serverB.url}/password`, {
      method: "POST",
      headers: asUser(kept.token),
      body: JSON.stringify({ current_password: PASSWORD, new_password: NEW_PASSWORD }),
    });
    expect(response.status, await response.clone().text()).toBeLessThan(300);
    expect(await reachesA(other)).toBeLessThan(DEADLINE_MS);
    expect(feed.isRevoked(kept)).toBe(false);
  });

  it("a session revoked through server B's admin API", async () => {
    const erin = await signInAtB("erin");
    const response = await fetch(`${serverB.url}/admin/sessions/${erin.sid}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(response.status).toBe(204);
    expect(await reachesA(erin)).toBeLessThan(DEADLINE_MS);
  });
});

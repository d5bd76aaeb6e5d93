import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRevocationFeed } from "@prolong/verify";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BackendStore, backends } from "./backends.js";
import { type RunningServer, runCli, startServerProcess } from "./server-process.js";

// Two `prolong serve` processes on one store: the device limit is the store's to keep,
// so sign-ins racing at both never leave more sessions than the limit
// (docs/session-policies.md).

const PASSWORD = "correct horse battery";
const RESOURCE_SECRET = "resource-secret-of-two-servers";
const ADMIN_TOKEN = "admin-token-of-two-servers";
const ISSUER = "https://auth.example.test";
/** The limits of the two profiles under test. */
const REFUSE_MAX = 3;
const EVICT_MAX = 2;
/** Sign-ins sent at once, spread over the two servers. */
const RACERS = 10;

const claimsOf = (token: string) =>
  JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString()) as {
    sub: string;
    sid: string;
    ver: number;
  };

function signIn(server: RunningServer, username: string, clientId: string): Promise<Response> {
  return fetch(`${server.url}/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password: PASSWORD, client_id: clientId }),
  });
}

async function adminGet(server: RunningServer, path: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${server.url}${path}`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  expect(response.status, path).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

async function subjectOf(server: RunningServer, username: string): Promise<string> {
  const found = await adminGet(server, `/admin/subjects?username=${username}`);
  return ((found.subjects as { id: string }[])[0] as { id: string }).id;
}

async function liveCount(server: RunningServer, subject: string, client: string): Promise<number> {
  const page = await adminGet(server, `/admin/subjects/${subject}/sessions?client=${client}&limit=100`);
  return (page.sessions as unknown[]).length;
}

for (const backend of backends) {
  describe(`session policies on two instances of one ${backend.name} store`, { tags: backend.needs }, () => {
    let store: BackendStore;
    let dir: string;
    let config: string[];
    let servers: [RunningServer, RunningServer];

    beforeAll(async () => {
      store = await backend.store();
      dir = mkdtempSync(join(tmpdir(), "prolong-policies-"));
      const file = join(dir, "config.json");
      writeFileSync(
        file,
        JSON.stringify({
          store: store.spec,
          issuer: ISSUER,
          profiles: {
            capped: { refreshTransport: "body", maxSessions: { max: REFUSE_MAX, onLimit: "refuse" } },
            rolling: { refreshTransport: "body", maxSessions: { max: EVICT_MAX, onLimit: "evict" } },
          },
          clients: { capped: { profile: "capped" }, rolling: { profile: "rolling" } },
        }),
      );
      config = ["--config", file];
      const migrated = await runCli(["migrate", ...config]);
      expect(migrated.code, migrated.stderr).toBe(0);
      for (const name of ["carol", "dave", "erin"]) {
        const added = await runCli(["users", "add", name, "--password", PASSWORD, ...config]);
        expect(added.code, added.stderr).toBe(0);
      }
      const env = { PROLONG_RESOURCE_SECRET: RESOURCE_SECRET, PROLONG_ADMIN_TOKEN: ADMIN_TOKEN };
      servers = [await startServerProcess(config, env), await startServerProcess(config, env)];
    }, 90_000);

    afterAll(async () => {
      await Promise.all((servers ?? []).map((s) => s.stop()));
      await store?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it(`${RACERS} sign-ins racing at both instances: exactly ${REFUSE_MAX} admitted, the rest 409 session_limit`, async () => {
      const answers = await Promise.all(
        Array.from({ length: RACERS }, (_, i) => signIn(servers[i % 2] as RunningServer, "carol", "capped")),
      );
      const statuses = answers.map((a) => a.status).sort();
      expect(statuses.filter((s) => s === 200)).toHaveLength(REFUSE_MAX);
      expect(statuses.filter((s) => s === 409)).toHaveLength(RACERS - REFUSE_MAX);
      const refused = await Promise.all(answers.filter((a) => a.status === 409).map((a) => a.json()));
      for (const body of refused) expect(body).toMatchObject({ error: "session_limit" });
      expect(await liveCount(servers[0], await subjectOf(servers[0], "carol"), "capped")).toBe(REFUSE_MAX);
    }, 30_000);

    it(`${RACERS} sign-ins racing under evict: every one admitted, ${EVICT_MAX} left standing`, async () => {
      const answers = await Promise.all(
        Array.from({ length: RACERS }, (_, i) => signIn(servers[i % 2] as RunningServer, "dave", "rolling")),
      );
      expect(answers.map((a) => a.status)).toEqual(Array(RACERS).fill(200));
      expect(await liveCount(servers[1], await subjectOf(servers[1], "dave"), "rolling")).toBe(EVICT_MAX);
    }, 30_000);

    it("an evicted session's access token is refused within 2 s by a verifier fed by the other instance", async () => {
      const [a, b] = servers;
      const feed = createRevocationFeed({
        url: `${b.url}/revocations/feed`,
        credentials: { secret: RESOURCE_SECRET },
        minBackoffMs: 50,
        maxBackoffMs: 200,
      });
      try {
        await feed.waitUntilLive(5000);
        const first = (await (await signIn(a, "erin", "rolling")).json()) as { access_token: string };
        const claims = claimsOf(first.access_token);
        for (let i = 0; i < EVICT_MAX - 1; i++) expect((await signIn(a, "erin", "rolling")).status).toBe(200);
        expect(feed.isRevoked(claims)).toBe(false);
        // One more pushes the least recently active, the first, out.
        expect((await signIn(a, "erin", "rolling")).status).toBe(200);
        const from = Date.now();
        await expect.poll(() => feed.isRevoked(claims), { timeout: 2000, interval: 10 }).toBe(true);
        expect(Date.now() - from).toBeLessThan(2000);
      } finally {
        await feed.close();
      }
    }, 30_000);

    it("prolong sessions impersonate prints tokens whose act jose verifies; they do not count towards the limit", async () => {
      const subject = await subjectOf(servers[0], "carol");
      const run = await runCli([
        "sessions",
        "impersonate",
        subject,
        "--actor",
        "support-1",
        "--ttl",
        "120",
        "--client",
        "capped",
        ...config,
      ]);
      expect(run.code, run.stderr).toBe(0);
      const answer = JSON.parse(run.stdout) as { access_token: string; session_id: string };
      const jwks = createRemoteJWKSet(new URL(`${servers[1].url}/.well-known/jwks.json`));
      const { payload } = await jwtVerify(answer.access_token, jwks, { issuer: ISSUER, audience: "prolong" });
      expect(payload).toMatchObject({ sub: subject, sid: answer.session_id, act: { sub: "support-1" } });
      expect((payload.exp as number) - (payload.iat as number)).toBeLessThanOrEqual(120);
      // Carol already holds her limit of own sessions; the impersonation was admitted beside them.
      expect(await liveCount(servers[0], subject, "capped")).toBe(REFUSE_MAX + 1);
      const tooLong = await runCli([
        "sessions",
        "impersonate",
        subject,
        "--actor",
        "support-1",
        "--ttl",
        "3601",
        "--client",
        "capped",
        ...config,
      ]);
      expect(tooLong.code).not.toBe(0);
      expect(tooLong.stderr).toContain("ttlSeconds");
    }, 30_000);
  });
}

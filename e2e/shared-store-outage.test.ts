import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { backends, type StoppableStore } from "./backends.js";
import { type RunningServer, runCli, startServerProcess } from "./server-process.js";

// The database server itself goes away for 30 s under two instances (docs/scale-out.md,
// "When the store is down"): a failure of ours, so nobody is signed out.

const PASSWORD = "correct horse battery";
const OUTAGE_MS = 30_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function refresh(server: RunningServer, refreshToken: string): Promise<Response> {
  return fetch(`${server.url}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "refresh_token",
      refresh_token: refreshToken,
      client_id: "native",
    }),
  });
}

for (const backend of backends) {
  const { stoppable } = backend;
  if (!stoppable) continue;
  describe(`two instances while their ${backend.name} server is down for 30 s`, {
    tags: backend.needs,
  }, () => {
    let store: StoppableStore | undefined;
    let dir: string | undefined;
    const servers: RunningServer[] = [];
    afterAll(async () => {
      await Promise.all(servers.map((s) => s.stop()));
      await store?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it("answers 503 with Retry-After meanwhile, loses and revokes nothing, and every client goes on after", async () => {
      store = await stoppable();
      dir = mkdtempSync(join(tmpdir(), "prolong-store-down-"));
      const file = join(dir, "config.json");
      writeFileSync(file, JSON.stringify({ store: store.spec, demo: false }));
      const config = ["--config", file];
      expect((await runCli(["migrate", ...config])).code).toBe(0);
      const added = await runCli(["users", "add", "alice", "--password", PASSWORD, ...config]);
      expect(added.code, added.stderr).toBe(0);
      servers.push(await startServerProcess(config), await startServerProcess(config));

      const tokens: string[] = [];
      for (let i = 0; i < 4; i++) {
        const response = await fetch(`${servers[i % 2]?.url}/login`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ username: "alice", password: PASSWORD, client_id: "native" }),
        });
        expect(response.status).toBe(200);
        tokens.push(((await response.json()) as { refresh_token: string }).refresh_token);
      }

      await store.stop();
      const downSince = Date.now();
      let attempts = 0;
      while (Date.now() - downSince < OUTAGE_MS) {
        for (const [i, token] of tokens.entries()) {
          const sent = Date.now();
          const response = await refresh(servers[(i + attempts) % 2] as RunningServer, token);
          // Answered, not left hanging until the store is back.
          expect(Date.now() - sent).toBeLessThan(10_000);
          expect(response.status).toBe(503);
          expect(response.headers.get("retry-after")).toMatch(/^\d+$/);
          expect(await response.json()).toMatchObject({ error: "temporarily_unavailable" });
        }
        for (const server of servers) expect((await fetch(`${server.url}/healthz`)).status).toBe(503);
        attempts += 1;
        await sleep(2000);
      }
      expect(attempts).toBeGreaterThanOrEqual(3);

      await store.start();
      for (const server of servers) {
        await expect
          .poll(async () => (await fetch(`${server.url}/healthz`)).status, { timeout: 20_000, interval: 250 })
          .toBe(200);
      }
      // Every client goes on with the token it held before the outage, at either instance.
      for (const [i, token] of tokens.entries()) {
        const response = await refresh(servers[i % 2] as RunningServer, token);
        expect(response.status, await response.clone().text()).toBe(200);
        const next = ((await response.json()) as { refresh_token: string }).refresh_token;
        expect((await refresh(servers[(i + 1) % 2] as RunningServer, next)).status).toBe(200);
      }
    }, 120_000);
  });
}

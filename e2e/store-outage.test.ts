import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { type RunningServer, runCli, startServerProcess } from "./server-process.js";

/**
 * A database outage met by the real server process: another connection (here, this test
 * process) holds the SQLite write lock, as a second `prolong` process or a backup could.
 * The server's busy timeout is its default 5 s, so each refused write takes that long.
 */

const PASSWORD = "correct horse battery";
let server: RunningServer | null = null;
let lock: Database.Database | null = null;
let dir: string | null = null;
afterEach(async () => {
  if (lock?.open) {
    lock.exec("ROLLBACK");
    lock.close();
  }
  lock = null;
  await server?.stop();
  server = null;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = null;
});

function refreshCookieOf(response: Response): string | undefined {
  return response.headers
    .getSetCookie()
    .find((c) => c.startsWith("__Secure-prolong-rt="))
    ?.split(";")[0];
}

describe("the server process while its SQLite file is locked by another connection", () => {
  it("answers refresh and /healthz 503 with Retry-After, keeps the cookie, and recovers", async () => {
    dir = mkdtempSync(join(tmpdir(), "prolong-outage-e2e-"));
    const path = join(dir, "prolong.db");
    const store = `sqlite:${path}`;
    server = await startServerProcess(["--store", store]);
    const origin = server.url.replace("127.0.0.1", "localhost");
    const added = await runCli(["users", "add", "alice", "--password", PASSWORD, "--store", store]);
    expect(added.code, added.stderr).toBe(0);

    const login = await fetch(`${server.url}/login`, {
      method: "POST",
      headers: { "content-type": "application/json", origin },
      body: JSON.stringify({ username: "alice", password: PASSWORD }),
    });
    expect(login.status).toBe(200);
    const cookie = refreshCookieOf(login) as string;
    expect(cookie).toBeTruthy();
    const refresh = () =>
      fetch(`${server?.url}/oauth/token`, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          cookie,
          "prolong-csrf": "1",
          origin,
        },
        body: "grant_type=refresh_token&client_id=web",
      });

    lock = new Database(path);
    lock.exec("BEGIN IMMEDIATE");
    const refused = await refresh();
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(refused.headers.getSetCookie()).toEqual([]);
    expect(await refused.json()).toMatchObject({ error: "temporarily_unavailable" });
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ status: "unavailable", store: "unavailable" });

    lock.exec("COMMIT");
    lock.close();
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const refreshed = await refresh();
    expect(refreshed.status).toBe(200);
    expect(refreshCookieOf(refreshed)).not.toBe(cookie);
  }, 60_000);
});

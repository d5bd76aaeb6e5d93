import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type HeldWriteLock, holdSqliteWriteLock } from "../testing/sqlite-lock.js";
import { type RunningServer, runCli, startServerProcess } from "./server-process.js";

/**
 * A real `prolong serve` on a SQLite file while a second real process holds the file's
 * write lock for 3 s, as the CLI, a backup or a second instance may. The server waits
 * for the lock without holding its event loop: requests that need no write answer
 * meanwhile, and a sign-in made during the lock completes once it is released.
 */

const PASSWORD = "correct horse battery";
/** Loose, for a loaded machine: a server stalled behind the lock takes seconds. */
const ANSWER_WITHIN_MS = 1000;

let server: RunningServer | null = null;
let lock: HeldWriteLock | null = null;
let dir: string | null = null;
afterEach(async () => {
  await lock?.release();
  lock = null;
  await server?.stop();
  server = null;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = null;
});

/** How long a GET of `url` takes to answer, with its status. */
async function timedGet(url: string): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const response = await fetch(url);
  await response.arrayBuffer();
  return { status: response.status, ms: performance.now() - started };
}

describe("the server process while another process holds its SQLite file's write lock", () => {
  it("answers JWKS and metadata at once, and a sign-in made meanwhile once the lock is released", async () => {
    dir = mkdtempSync(join(tmpdir(), "prolong-lock-e2e-"));
    const path = join(dir, "prolong.db");
    const store = `sqlite:${path}`;
    server = await startServerProcess(["--store", store]);
    const { url } = server;
    const added = await runCli(["users", "add", "alice", "--password", PASSWORD, "--store", store]);
    expect(added.code, added.stderr).toBe(0);
    expect((await timedGet(`${url}/.well-known/jwks.json`)).status).toBe(200);

    lock = await holdSqliteWriteLock(path, { forMs: 3000 });
    let released = false;
    const releasedAt = lock.released.then((at) => {
      released = true;
      return at;
    });
    const signIn = fetch(`${url}/login`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: url.replace("127.0.0.1", "localhost") },
      body: JSON.stringify({ username: "alice", password: PASSWORD }),
    }).then((response) => ({ response, at: Date.now() }));
    // Let the sign-in reach its first write, which meets the lock.
    await new Promise((resolve) => setTimeout(resolve, 300));

    const answers: { status: number; ms: number }[] = [];
    while (!released && answers.length < 40) {
      answers.push(await timedGet(`${url}/.well-known/jwks.json`));
      answers.push(await timedGet(`${url}/.well-known/oauth-authorization-server`));
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // Each answered at once, so several rounds fell inside the 3 s of the lock.
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.ms).toBeLessThan(ANSWER_WITHIN_MS);
    }
    expect(answers.length).toBeGreaterThanOrEqual(6);

    const { response, at } = await signIn;
    expect(response.status, await response.clone().text()).toBe(200);
    expect(await response.json()).toMatchObject({ access_token: expect.any(String) });
    // Both are the machine's wall clock, which the two processes share.
    expect(at).toBeGreaterThanOrEqual(await releasedAt);
  }, 60_000);
});

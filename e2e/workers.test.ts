import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { freePort, type RunningServer, runCli, startServerProcess } from "./server-process.js";

// `prolong serve --workers N`: a primary that forks N processes serving one port, on a
// fresh SQLite file each time (startServerProcess runs in a new directory).

let server: RunningServer | null = null;
afterEach(async () => {
  await server?.stop();
  server = null;
});

/** The JSON log lines a process printed so far, printed notes left out. */
function logLines(text: string): Record<string, unknown>[] {
  return text
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Worker id → its pid, from each worker's "Server listening" line (logged at info). */
function listeningWorkers(text: string): Map<number, number> {
  const found = new Map<number, number>();
  for (const line of logLines(text))
    if (typeof line.worker === "number" && String(line.msg).startsWith("Server listening"))
      found.set(line.worker, line.pid as number);
  return found;
}

/** Whether a process with this pid exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls `check` every 25 ms until it returns a value, for at most `ms`. */
async function waitFor<T>(what: string, ms: number, check: () => T | undefined): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** What the process writes to stderr from now on. */
function stderrOf(running: RunningServer): () => string {
  let text = "";
  running.child.stderr.on("data", (chunk) => {
    text += chunk;
  });
  return () => text;
}

async function signIn(running: RunningServer): Promise<{ refresh_token: string }> {
  const response = await fetch(`${running.url}/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "demo", password: running.demoPassword, client_id: "native" }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as { refresh_token: string };
}

function refresh(url: string, refreshToken: string): Promise<Response> {
  return fetch(`${url}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "refresh_token",
      refresh_token: refreshToken,
      client_id: "native",
    }),
  });
}

describe("prolong serve --workers", () => {
  it("prepares a fresh store once, then serves from every worker: 50 racing refreshes of one token make one successor", async () => {
    server = await startServerProcess(["--workers", "2", "--demo"], { PROLONG_LOG_LEVEL: "debug" });
    const running = server;
    const printed = running.stdout();
    expect(printed).toMatch(
      /prolong is up at \S+ \(listening on 127\.0\.0\.1:\d+, store sqlite:\S+, 2 workers\)/,
    );
    // The primary seeded the demo user and made the keys before forking: one password,
    // one active key and one next key, not one next key per worker.
    expect(printed.match(/demo user created/g)).toHaveLength(1);
    const jwks = (await (await fetch(`${running.url}/.well-known/jwks.json`)).json()) as { keys: unknown[] };
    expect(jwks.keys).toHaveLength(2);

    const { refresh_token: first } = await signIn(running);
    const answers = await Promise.all(Array.from({ length: 50 }, () => refresh(running.url, first)));
    const bodies = (await Promise.all(answers.map((a) => a.json()))) as { refresh_token?: string }[];
    expect(answers.map((a) => a.status)).toEqual(Array(50).fill(200));
    // One rotation, 49 replays inside the grace window: all the same successor.
    const successors = new Set(bodies.map((b) => b.refresh_token));
    expect(successors.size).toBe(1);
    const [successor] = [...successors] as [string];
    expect(successor).not.toBe(first);
    // Both workers answered some of them (each logs its requests with its id at debug).
    const tokenRequestsBy = (text: string) => {
      const count = new Map<number, number>();
      for (const line of logLines(text)) {
        const req = line.req as { url?: string } | undefined;
        if (line.msg === "incoming request" && req?.url === "/oauth/token")
          count.set(line.worker as number, (count.get(line.worker as number) ?? 0) + 1);
      }
      return count;
    };
    const served = await waitFor("50 token requests logged", 5000, () => {
      const count = tokenRequestsBy(running.stdout());
      return [...count.values()].reduce((a, b) => a + b, 0) >= 50 ? count : undefined;
    });
    expect([...served.keys()].sort()).toEqual([1, 2]);
    for (const n of served.values()) expect(n).toBeGreaterThan(0);

    // The session lives on: the successor rotates, whichever worker gets it.
    const next = await refresh(running.url, successor);
    expect(next.status).toBe(200);
    expect(((await next.json()) as { refresh_token: string }).refresh_token).not.toBe(successor);
  });

  it("replaces a worker killed with SIGKILL and keeps answering meanwhile", async () => {
    server = await startServerProcess(["--workers", "2"], { PROLONG_LOG_LEVEL: "info" });
    const running = server;
    const workers = await waitFor("two workers listening", 5000, () => {
      const found = listeningWorkers(running.stdout());
      return found.size === 2 ? found : undefined;
    });
    const victim = workers.get(1) as number;
    process.kill(victim, "SIGKILL");
    await waitFor("the primary seeing the death", 5000, () =>
      /worker died; starting another/.test(running.stdout()) ? true : undefined,
    );
    // Worker 2 answers alone until the replacement listens.
    for (let i = 0; i < 10; i++)
      expect((await fetch(`${running.url}/.well-known/jwks.json`)).status).toBe(200);

    const replacement = await waitFor("a replacement listening", 10_000, () =>
      listeningWorkers(running.stdout()).get(3),
    );
    expect(replacement).not.toBe(victim);
    expect(alive(replacement)).toBe(true);
    expect(alive(victim)).toBe(false);
    expect((await fetch(`${running.url}/healthz`)).status).toBe(200);
  });

  it("stops on SIGTERM once in-flight requests are answered, with no worker left running", async () => {
    server = await startServerProcess(["--workers", "2", "--demo"], { PROLONG_LOG_LEVEL: "debug" });
    const running = server;
    const workers = await waitFor("two workers listening", 5000, () => {
      const found = listeningWorkers(running.stdout());
      return found.size === 2 ? found : undefined;
    });
    // A sign-in spends real scrypt time; stop once a worker logged that it has the request.
    const pending = fetch(`${running.url}/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "demo", password: running.demoPassword }),
    });
    await waitFor("the sign-in reaching a worker", 5000, () =>
      /"url":"\/login"[^\n]*incoming request/.test(running.stdout()) ? true : undefined,
    );
    const stopped = running.stop();
    const answer = await pending;
    expect(answer.status, await answer.clone().text()).toBe(200);
    expect(await stopped).toBe(0);
    server = null;
    for (const pid of workers.values()) expect(alive(pid)).toBe(false);
  });

  it("gives up with a clear message when workers keep dying", async () => {
    server = await startServerProcess(["--workers", "2"], { PROLONG_LOG_LEVEL: "info" });
    const running = server;
    const stderr = stderrOf(running);
    const exited = once(running.child, "exit");
    // The budget is max(5, workers) deaths a minute: the sixth stops the primary.
    const killed = new Set<number>();
    for (let death = 1; death <= 6; death++) {
      const [id, pid] = await waitFor(`a worker to kill (death ${death})`, 10_000, () =>
        [...listeningWorkers(running.stdout())].find(([worker]) => !killed.has(worker)),
      );
      killed.add(id);
      process.kill(pid, "SIGKILL");
    }
    const timeout = new Promise((_, reject) =>
      setTimeout(() => reject(new Error("the primary did not exit")), 10_000),
    );
    const [code] = (await Promise.race([exited, timeout])) as [number | null];
    expect(code).toBe(1);
    expect(stderr()).toMatch(
      /6 workers died within 60 s \(the last: worker \d+, signal SIGKILL\); not starting more/,
    );
    for (const pid of listeningWorkers(running.stdout()).values()) expect(alive(pid)).toBe(false);
  });

  it("stops with the reason when a worker cannot listen", async () => {
    const taken = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => taken.listen(port, "127.0.0.1", resolve));
    const dir = mkdtempSync(join(tmpdir(), "prolong-workers-"));
    try {
      const result = await runCli(
        ["serve", "--workers", "2", "--port", String(port), "--host", "127.0.0.1"],
        {
          cwd: dir,
          env: { PROLONG_LOG_LEVEL: "warn" },
        },
      );
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("EADDRINUSE");
      expect(result.stderr).toMatch(/worker \d+ exited \(code 1\) before it was listening/);
      expect(result.stdout).not.toContain("prolong is up");
    } finally {
      taken.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a memory: store and a count out of bounds, naming the setting", async () => {
    const memory = await runCli(["serve", "--workers", "2", "--store", "memory:"]);
    expect(memory.code).toBe(2);
    expect(memory.stderr).toContain("workers: 2 processes cannot share a memory: store");
    const zero = await runCli(["serve", "--workers", "0"]);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toContain("workers: must be a whole number from 1 to 64");
    const words = await runCli(["serve"], { env: { PROLONG_WORKERS: "many" } });
    expect(words.code).toBe(2);
    expect(words.stderr).toContain("workers: must be a whole number from 1 to 64");
  });
});

import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventStream } from "./event-stream.js";
import { freePort } from "./server-process.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const RESOURCE_SECRET = "a-resource-secret-for-the-bun-host";

let bun: ChildProcess;
let base: string;

/** prolong.fetch behind Bun.serve, in a Bun process of its own (e2e/fixtures/fetch-host-bun.mjs). */
beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  bun = spawn(
    join(root, "node_modules", ".bin", "bun"),
    [join(root, "e2e", "fixtures", "fetch-host-bun.mjs"), String(port), RESOURCE_SECRET],
    { cwd: root, stdio: ["ignore", "pipe", "pipe"] },
  );
  let errors = "";
  bun.stderr?.on("data", (chunk) => {
    errors += chunk;
  });
  await new Promise<void>((resolve, reject) => {
    bun.stdout?.on("data", (chunk) => {
      if (String(chunk).includes("ready")) resolve();
    });
    bun.once("exit", (code) => reject(new Error(`bun exited with ${code}: ${errors}`)));
  });
}, 60_000);

afterAll(() => {
  bun?.kill();
});

const json = (path: string, body: unknown) =>
  fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

describe("prolong.fetch under Bun.serve", () => {
  it("signs a web client in with both cookies and refreshes it", async () => {
    const signedIn = await json("/auth/login", { username: "maryo", password: "correct horse battery" });
    expect(signedIn.status).toBe(200);
    const cookies = signedIn.headers.getSetCookie();
    expect(cookies).toHaveLength(2);
    const refreshCookie = cookies.find((c) => c.startsWith("__Secure-prolong-rt="))?.split(";")[0] as string;
    const refreshed = await fetch(`${base}/auth/oauth/token`, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        cookie: refreshCookie,
        "prolong-csrf": "1",
      },
      body: "grant_type=refresh_token&client_id=web",
    });
    expect(refreshed.status).toBe(200);
    expect(await refreshed.json()).toHaveProperty("access_token");
  });

  it("streams the revocation feed: the snapshot, then a revocation as it happens", async () => {
    const abort = new AbortController();
    const feed = await fetch(`${base}/auth/revocations/feed`, {
      headers: { authorization: `Bearer ${RESOURCE_SECRET}` },
      signal: abort.signal,
    });
    expect(feed.status).toBe(200);
    const events = eventStream(feed.body as ReadableStream<Uint8Array>);
    await events.until(/event: snapshot\n/);
    const signedIn = await json("/auth/login", {
      username: "maryo",
      password: "correct horse battery",
      client_id: "native",
    });
    const { refresh_token } = (await signedIn.json()) as { refresh_token: string };
    const revoked = await fetch(`${base}/auth/oauth/revoke`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: refresh_token, client_id: "native" }).toString(),
    });
    expect(revoked.status).toBe(200);
    await events.until(/event: revoked\n/);
    abort.abort();
    await events.cancel();
  });
});

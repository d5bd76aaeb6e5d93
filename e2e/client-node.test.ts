import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSessionClient } from "@prolong/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningServer, startServerProcess } from "./server-process.js";

const TTL = 3;
let server: RunningServer;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "prolong-node-client-"));
  const config = join(dir, "config.json");
  writeFileSync(config, JSON.stringify({ profiles: { native: { accessTokenTtl: TTL } } }));
  server = await startServerProcess(["--config", config]);
}, 30_000);
afterAll(async () => {
  await server?.stop();
});

async function tokenRequests(): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return [
    ...text.matchAll(
      /prolong_http_request_duration_seconds_count\{[^}]*route="\/oauth\/token"[^}]*\} (\d+)/g,
    ),
  ]
    .map((m) => Number(m[1]))
    .reduce((a, b) => a + b, 0);
}

describe("the client in Node against the real server", () => {
  it("200 concurrent calls across an expiry share one refresh", async () => {
    // Timers that never fire: no proactive renewal, so the calls meet an expired token.
    const client = createSessionClient({
      issuer: server.url,
      profile: "native",
      timers: { setTimeout: () => 0, clearTimeout: () => {} },
    });
    const events: string[] = [];
    client.on("refreshed", (e) => events.push(e.source));
    await client.signIn({
      username: "demo",
      password: server.demoPassword as string,
      deviceName: "node test",
    });
    const before = await tokenRequests();
    await new Promise((r) => setTimeout(r, (TTL + 1) * 1000));
    const responses = await Promise.all(
      Array.from({ length: 200 }, () => client.fetch(`${server.url}/demo/api/hello`)),
    );
    expect(responses.map((r) => r.status).every((s) => s === 200)).toBe(true);
    expect((await tokenRequests()) - before).toBe(1);
    expect(events).toEqual(["reactive"]);
    await client.signOut();
  });
});

import { createSessionClient } from "@prolong/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningServer, startServerWithConfig, tokenRequests } from "./server-process.js";

const TTL = 3;
let server: RunningServer;
/** The server's issuer, its default: the metadata names it, and the client checks (RFC 8414 §3.3). */
let issuer: string;

beforeAll(async () => {
  server = await startServerWithConfig({ demo: true, profiles: { native: { accessTokenTtl: TTL } } });
  issuer = server.url.replace("127.0.0.1", "localhost");
}, 30_000);
afterAll(async () => {
  await server?.stop();
});

describe("the client in Node against the real server", () => {
  it("200 concurrent calls across an expiry share one refresh", async () => {
    // Timers that never fire: no proactive renewal, so the calls meet an expired token.
    const client = createSessionClient({
      issuer,
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
    const before = await tokenRequests(server);
    await new Promise((r) => setTimeout(r, (TTL + 1) * 1000));
    const responses = await Promise.all(
      Array.from({ length: 200 }, () => client.fetch(`${issuer}/demo/api/hello`)),
    );
    expect(responses.map((r) => r.status).every((s) => s === 200)).toBe(true);
    expect((await tokenRequests(server)) - before).toBe(1);
    expect(events).toEqual(["reactive"]);
    await client.signOut();
  });

  it("rejects a refused sign-in with the server's status and error_description (docs/protocol.md, Errors)", async () => {
    const client = createSessionClient({ issuer, profile: "native" });
    const refused = await client.signIn({ username: "demo", password: "not the password" }).then(
      () => null,
      (error: Error & { status?: number; body?: Record<string, string> }) => error,
    );
    expect(refused?.status).toBe(401);
    expect(refused?.body).toEqual({ error: "invalid_credentials", error_description: expect.any(String) });
    expect(refused?.message).toBe(refused?.body?.error_description);
    client.stop();
  });
});

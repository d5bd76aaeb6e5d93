import { createServer, type Server } from "node:http";
import { type ClientError, createSessionClient } from "@prolong/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forwardTo } from "./forward.js";
import { freePort, type RunningServer, startServerWithConfig } from "./server-process.js";

/** Answers a proxy or a gateway gives in front of a server, none of them about the session. */
const PROXY_ANSWERS = [
  { status: 404, type: "text/html", body: "<html><body><h1>404 Not Found</h1></body></html>" },
  { status: 403, type: "text/html", body: "<html><body><h1>403 Forbidden</h1></body></html>" },
  { status: 400, type: "text/plain", body: "Bad Request" },
];

let server: RunningServer;
let proxy: Server;
let issuer: string;
/** What the proxy answers at the token endpoint instead of forwarding; empty: it forwards. */
const intercept: typeof PROXY_ANSWERS = [];

beforeAll(async () => {
  const port = await freePort();
  issuer = `http://127.0.0.1:${port}`;
  // prolong behind the proxy, its issuer the proxy's URL, as it is deployed.
  server = await startServerWithConfig({ demo: true, issuer });
  const upstream = new URL(server.url);
  proxy = createServer((incoming, response) => {
    const canned = incoming.url === "/oauth/token" ? intercept.shift() : undefined;
    if (canned) {
      incoming.resume();
      response.writeHead(canned.status, { "content-type": canned.type }).end(canned.body);
      return;
    }
    forwardTo({ host: upstream.hostname, port: upstream.port }, incoming, response);
  });
  await new Promise<void>((resolve) => proxy.listen(port, "127.0.0.1", resolve));
}, 30_000);
afterAll(async () => {
  proxy?.closeAllConnections();
  await new Promise((resolve) => proxy?.close(resolve));
  await server?.stop();
});

describe("the client behind a proxy, against the real server", () => {
  it("keeps its session and refresh token through a proxy's 404, 403 and 400; ends it on invalid_grant", async () => {
    let stored: string | null = null;
    const client = createSessionClient({
      issuer,
      profile: "native",
      storage: {
        get: () => stored,
        set: (token) => {
          stored = token;
        },
      },
    });
    const errors: Pick<ClientError, "code" | "status" | "fatal">[] = [];
    const reasons: string[] = [];
    client.on("error", ({ code, status, fatal }) => errors.push({ code, status, fatal }));
    client.on("signedOut", ({ reason }) => reasons.push(reason));
    await client.signIn({ username: "demo", password: server.demoPassword as string });
    const held = { accessToken: client.accessToken, refreshToken: stored };
    expect(held.refreshToken).toEqual(expect.any(String));

    intercept.push(...PROXY_ANSWERS);
    const renewed = client.refresh();
    // Each refused attempt is reported and retried after a backoff; nothing is dropped meanwhile.
    await expect.poll(() => errors.length, { timeout: 10_000 }).toBe(3);
    expect(client.accessToken).toBe(held.accessToken);
    expect(stored).toBe(held.refreshToken);
    expect(reasons).toEqual([]);
    // The proxy forwards again: the next attempt renews the same session.
    expect(await renewed).toBe(true);
    expect(errors).toEqual(
      PROXY_ANSWERS.map(({ status }) => ({ code: "unexpected_answer", status, fatal: false })),
    );
    expect(client.accessToken).not.toBe(held.accessToken);
    expect(stored).not.toBe(held.refreshToken);
    expect(reasons).toEqual([]);

    // The session ends at the server: the next refresh is invalid_grant, and that ends it here.
    const logout = await client.fetch(`${issuer}/logout`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ everywhere: true }),
    });
    expect(logout.status).toBeLessThan(300);
    expect(await client.refresh()).toBe(false);
    expect(reasons).toEqual(["revoked"]);
    expect(stored).toBeNull();
    expect(client.accessToken).toBeNull();
    expect(errors).toHaveLength(3);
    client.stop();
  });
});

import { createServer, type Server } from "node:http";
import { createSessionClient, type SessionClient } from "@prolong/client";
import { createVerifier } from "@prolong/verify";
import { nodeGuard } from "@prolong/verify/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningServer, startServerWithConfig, tokenRequests } from "./server-process.js";

/**
 * RFC 9470 step-up end to end in Node: the real prolong server issues the tokens, a
 * resource server in this process guards its routes with `@prolong/verify`, and
 * `client.fetch` meets its `insufficient_user_authentication` challenges.
 */

let server: RunningServer;
let issuer: string;
let api: Server;
let apiUrl: string;
/** Requests each route of the resource server received. */
const hits = new Map<string, number>();

beforeAll(async () => {
  server = await startServerWithConfig({ demo: true });
  issuer = server.url.replace("127.0.0.1", "localhost");
  const verifier = await createVerifier({
    issuer,
    audience: "prolong",
    jwksUri: `${server.url}/.well-known/jwks.json`,
  });
  const guards: Record<string, ReturnType<typeof nodeGuard>> = {
    "/any": nodeGuard(verifier),
    "/recent": nodeGuard(verifier, { maxAge: 3 }),
    "/mfa": nodeGuard(verifier, { acr: ["mfa", "hwk"] }),
  };
  api = createServer(async (req, res) => {
    const path = req.url ?? "/";
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const guard = guards[path];
    if (!guard) return res.writeHead(404).end();
    const claims = await guard(req, res);
    if (!claims) return;
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ sub: claims.sub }));
  });
  await new Promise<void>((resolve) => api.listen(0, "127.0.0.1", resolve));
  apiUrl = `http://127.0.0.1:${(api.address() as { port: number }).port}`;
}, 30_000);

afterAll(async () => {
  api?.closeAllConnections();
  await new Promise<void>((resolve) => (api ? api.close(() => resolve()) : resolve()));
  await server?.stop();
});

async function signedIn() {
  const client = createSessionClient({ issuer, profile: "native", allowedOrigins: [apiUrl] });
  const events = { stepup: [] as unknown[], refreshed: [] as string[], signedOut: [] as string[] };
  client.on("stepup", (e) => events.stepup.push(e));
  client.on("refreshed", (e) => events.refreshed.push(e.source));
  client.on("signedOut", (e) => events.signedOut.push(e.reason));
  await client.signIn({
    username: "demo",
    password: server.demoPassword as string,
    deviceName: "step-up test",
  });
  return { client, events };
}

async function expectStillSignedIn(client: SessionClient, token: string | null) {
  expect(client.accessToken).toBe(token);
  const again = await client.fetch(`${apiUrl}/any`);
  expect(again.status).toBe(200);
}

describe("client.fetch against routes that ask for step-up", () => {
  it("reports an acr requirement as one stepup event and returns the 401, with no refresh and no sign-out", async () => {
    const { client, events } = await signedIn();
    const token = client.accessToken;
    const before = await tokenRequests(server);
    hits.clear();
    const response = await client.fetch(`${apiUrl}/mfa`);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({
      error: "insufficient_user_authentication",
      acr_values: "mfa hwk",
    });
    expect(events.stepup).toEqual([{ maxAge: undefined, acrValues: ["mfa", "hwk"] }]);
    // Sent once: no retry, no refresh at the token endpoint, no sign-out.
    expect(hits.get("/mfa")).toBe(1);
    expect((await tokenRequests(server)) - before).toBe(0);
    expect(events.refreshed).toEqual([]);
    expect(events.signedOut).toEqual([]);
    await expectStillSignedIn(client, token);
    await client.signOut();
  });

  it("reports a maxAge the authentication has outlived, and lets a fresh one through", async () => {
    const { client, events } = await signedIn();
    const token = client.accessToken;
    hits.clear();
    // auth_time is in whole seconds: just after sign-in the authentication is under 2 s old.
    expect((await client.fetch(`${apiUrl}/recent`)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 4_200));
    const before = await tokenRequests(server);
    const response = await client.fetch(`${apiUrl}/recent`);
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toContain("max_age=3");
    expect(events.stepup).toEqual([{ maxAge: 3, acrValues: undefined }]);
    expect(hits.get("/recent")).toBe(2);
    expect((await tokenRequests(server)) - before).toBe(0);
    expect(events.signedOut).toEqual([]);
    await expectStillSignedIn(client, token);
    expect(events.stepup).toHaveLength(1);
    await client.signOut();
  });
});

import { createSessionClient, type SessionClientOptions, type StepUpChallenge } from "@prolong/client";
import { attachToAxios } from "@prolong/client/axios";
import axios from "axios";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FakeServer, invalidToken } from "./fake-server.js";

/** RFC 9470 step-up challenges met by `client.fetch` and the axios adapter. */

let server: FakeServer;
beforeEach(() => {
  vi.useFakeTimers({ now: Date.UTC(2026, 0, 1) });
  server = new FakeServer();
});
afterEach(() => vi.useRealTimers());

const STEP_UP =
  'Bearer realm="api", error="insufficient_user_authentication", error_description="authentication is too old", max_age=60, acr_values="mfa hwk"';

const stepUp =
  (challenge = STEP_UP) =>
  () =>
    new Response(JSON.stringify({ error: "insufficient_user_authentication" }), {
      status: 401,
      headers: { "www-authenticate": challenge },
    });

async function signedIn(options: Partial<SessionClientOptions> = {}) {
  const client = createSessionClient({
    issuer: server.issuer,
    profile: "native",
    fetch: server.fetch,
    random: () => 0,
    locks: null,
    channel: null,
    target: null,
    ...options,
  });
  const events = { stepup: [] as StepUpChallenge[], refreshed: [] as string[], signedOut: [] as string[] };
  client.on("stepup", (e) => events.stepup.push(e));
  client.on("refreshed", (e) => events.refreshed.push(e.source));
  client.on("signedOut", (e) => events.signedOut.push(e.reason));
  await client.signIn({ username: "maryo", password: "pw" });
  return { client, events };
}

describe("client.fetch", () => {
  it("reports a step-up challenge as one stepup event and returns the 401 as it came", async () => {
    const { client, events } = await signedIn();
    const token = client.accessToken;
    server.apiAnswers.push(stepUp());
    const response = await client.fetch(`${server.issuer}/api/payout`);
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: "insufficient_user_authentication" });
    expect(events.stepup).toEqual([{ maxAge: 60, acrValues: ["mfa", "hwk"] }]);
    // No retry, no refresh, no sign-out: the session and its token go on.
    expect(server.apiCalls).toBe(1);
    expect(server.tokenCalls).toBe(0);
    await vi.advanceTimersByTimeAsync(1000);
    expect(events.refreshed).toEqual([]);
    expect(events.signedOut).toEqual([]);
    expect(client.accessToken).toBe(token);
    expect((await client.fetch(`${server.issuer}/api`)).status).toBe(200);
  });

  it("reads either requirement alone, a quoted max_age, and the DPoP scheme", async () => {
    const { client, events } = await signedIn();
    server.apiAnswers.push(
      stepUp(
        'DPoP error="insufficient_user_authentication", error_description="x", acr_values="urn:example:gold", algs="ES256"',
      ),
      stepUp('Bearer error="insufficient_user_authentication", max_age="0"'),
    );
    await client.fetch(`${server.issuer}/api`);
    await client.fetch(`${server.issuer}/api`);
    expect(events.stepup).toEqual([
      { maxAge: undefined, acrValues: ["urn:example:gold"] },
      { maxAge: 0, acrValues: undefined },
    ]);
  });

  it("reports a step-up met after a refresh, once, and never refreshes for it", async () => {
    const { client, events } = await signedIn();
    server.apiAnswers.push(invalidToken, stepUp());
    const response = await client.fetch(`${server.issuer}/api`);
    expect(response.status).toBe(401);
    expect(server.tokenCalls).toBe(1);
    expect(server.apiCalls).toBe(2);
    expect(events.refreshed).toEqual(["reactive"]);
    expect(events.stepup).toEqual([{ maxAge: 60, acrValues: ["mfa", "hwk"] }]);
  });

  it("fires nothing for other answers", async () => {
    const { client, events } = await signedIn();
    server.apiAnswers.push(
      () => new Response("no", { status: 401 }),
      () => new Response("no", { status: 403, headers: { "www-authenticate": STEP_UP } }),
      () => Response.json({ ok: true }),
    );
    for (let i = 0; i < 3; i++) await client.fetch(`${server.issuer}/api`);
    expect(events.stepup).toEqual([]);
  });

  it("reportAnswer lets a host with its own HTTP library report an answer", async () => {
    const { client, events } = await signedIn();
    client.reportAnswer(401, STEP_UP);
    client.reportAnswer(401, 'Bearer error="invalid_token"');
    client.reportAnswer(200, "");
    expect(events.stepup).toEqual([{ maxAge: 60, acrValues: ["mfa", "hwk"] }]);
  });
});

describe("the axios adapter", () => {
  /** axios over the fake server's fetch handler, so no socket is opened. */
  function instance() {
    return axios.create({
      baseURL: server.issuer,
      adapter: async (config) => {
        const response = await server.fetch(axios.getUri(config), {
          method: config.method?.toUpperCase() ?? "GET",
          headers: { authorization: String(config.headers.Authorization ?? "") },
        });
        const text = await response.text();
        const answer = {
          data: text ? JSON.parse(text) : null,
          status: response.status,
          statusText: response.statusText,
          headers: Object.fromEntries(response.headers),
          config,
        };
        if (response.status >= 400)
          throw new axios.AxiosError("failed", "ERR_BAD_RESPONSE", config, null, answer);
        return answer;
      },
    });
  }

  it("reports a step-up challenge once and rejects with the 401, with no refresh", async () => {
    const { client, events } = await signedIn();
    const api = instance();
    attachToAxios(api, client);
    server.apiAnswers.push(stepUp());
    await expect(api.get("/api/payout")).rejects.toMatchObject({
      response: { status: 401, data: { error: "insufficient_user_authentication" } },
    });
    expect(events.stepup).toEqual([{ maxAge: 60, acrValues: ["mfa", "hwk"] }]);
    expect(server.apiCalls).toBe(1);
    expect(server.tokenCalls).toBe(0);
    expect(events.signedOut).toEqual([]);
    expect((await api.get("/api")).status).toBe(200);
  });

  it("reports a step-up met on the retry after a refresh once", async () => {
    const { client, events } = await signedIn();
    const api = instance();
    attachToAxios(api, client);
    server.apiAnswers.push(invalidToken, stepUp());
    await expect(api.get("/api")).rejects.toMatchObject({ response: { status: 401 } });
    expect(server.tokenCalls).toBe(1);
    expect(events.stepup).toHaveLength(1);
  });
});

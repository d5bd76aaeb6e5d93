import { createSessionClient, type SessionClientOptions } from "@prolong/client";
import { attachToAxios } from "@prolong/client/axios";
import axios from "axios";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FakeServer, invalidToken } from "./fake-server.js";

let server: FakeServer;
beforeEach(() => {
  vi.useFakeTimers({ now: Date.UTC(2026, 0, 1) });
  server = new FakeServer();
});
afterEach(() => vi.useRealTimers());

/** axios over the fake server's fetch handler, so no socket is opened. */
function instance() {
  return axios.create({
    baseURL: server.issuer,
    adapter: async (config) => {
      const response = await server.fetch(axios.getUri(config), {
        method: config.method?.toUpperCase() ?? "GET",
        headers: { authorization: String(config.headers.Authorization ?? "") },
      });
      const data = await response.text();
      const answer = {
        data: data ? JSON.parse(data) : null,
        status: response.status,
        statusText: response.statusText,
        headers: Object.fromEntries(response.headers),
        config,
      };
      if (response.status >= 400) {
        throw new axios.AxiosError("failed", "ERR_BAD_RESPONSE", config, null, answer);
      }
      return answer;
    },
  });
}

async function setup(options: Partial<SessionClientOptions> = {}) {
  const client = createSessionClient({
    issuer: server.issuer,
    profile: "native",
    fetch: server.fetch,
    locks: null,
    channel: null,
    target: null,
    ...options,
  });
  await client.signIn({ username: "maryo", password: "pw" });
  const api = instance();
  const detach = attachToAxios(api, client);
  return { client, api, detach };
}

describe("axios adapter", () => {
  it("attaches the access token", async () => {
    const { client, api } = await setup();
    const { data } = await api.get("/api");
    expect(data.auth).toBe(`Bearer ${client.accessToken}`);
  });

  it("refreshes once and retries once on 401 invalid_token", async () => {
    const { api } = await setup();
    server.apiAnswers.push(invalidToken);
    const { status } = await api.get("/api");
    expect(status).toBe(200);
    expect(server.tokenCalls).toBe(1);
    expect(server.apiCalls).toBe(2);
    server.apiAnswers.push(invalidToken, invalidToken);
    await expect(api.get("/api")).rejects.toMatchObject({ response: { status: 401 } });
    expect(server.apiCalls).toBe(4);
  });

  it("shares one refresh among concurrent failing requests", async () => {
    const { api } = await setup();
    server.apiAnswers.push(...Array.from({ length: 10 }, () => invalidToken));
    const results = await Promise.all(Array.from({ length: 10 }, () => api.get("/api")));
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(server.tokenCalls).toBe(1);
  });

  it("sends the token to allowedOrigins, and nothing to other origins, which it never retries", async () => {
    const { client, api } = await setup({ allowedOrigins: ["https://api.example"] });
    expect((await api.get("https://api.example/orders")).data.auth).toBe(`Bearer ${client.accessToken}`);
    expect((await api.get("https://tracker.example/pixel")).data.auth).toBe("");
    server.apiAnswers.push(invalidToken);
    await expect(api.get("https://tracker.example/pixel")).rejects.toMatchObject({
      response: { status: 401 },
    });
    expect(server.tokenCalls).toBe(0);
    expect(server.apiCalls).toBe(3);
  });

  it("detaches cleanly", async () => {
    const { api, detach } = await setup();
    detach();
    const { data } = await api.get("/api");
    expect(data.auth).toBe("");
  });
});

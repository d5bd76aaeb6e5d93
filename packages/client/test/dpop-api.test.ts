import { attachToAxios } from "@prolong/client/axios";
import axios from "axios";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DpopHarness, sha256, verified } from "./dpop-harness.js";

let h: DpopHarness;
beforeEach(() => {
  h = new DpopHarness();
});
afterEach(() => h.stop());

describe("requests to APIs with a bound token (RFC 9449 §7.1)", () => {
  const api = "https://auth.test/api/things?x=1";

  function bound() {
    h.server.tokenType = "DPoP";
    h.server.extraClaims = { cnf: { jkt: "the-key" } };
  }

  /** An API's answer to a proof without its nonce (RFC 9449 §9). */
  const askForNonce = (nonce: string) =>
    new Response(null, {
      status: 401,
      headers: { "www-authenticate": 'DPoP error="use_dpop_nonce"', "dpop-nonce": nonce },
    });

  it("fetch sends Authorization: DPoP and a proof for the request, with ath of the token", async () => {
    bound();
    const { c } = h.client();
    await c.signIn({ username: "maryo", password: "pw" });
    const response = await c.fetch(api, { method: "PUT", body: "{}" });
    expect((await response.json()).auth).toBe(`DPoP ${c.accessToken}`);
    const call = h.seen.at(-1);
    const { payload } = await verified(call?.dpop ?? null);
    expect(payload).toMatchObject({
      htm: "PUT",
      htu: "https://auth.test/api/things",
      ath: await sha256(c.accessToken as string),
    });
  });

  it("fetch sends a bearer token and no proof when the server did not bind the token", async () => {
    const { c } = h.client();
    await c.signIn({ username: "maryo", password: "pw" });
    await c.fetch(api);
    expect(h.seen.at(-1)).toMatchObject({ authorization: `Bearer ${c.accessToken}`, dpop: null });
  });

  it("fetch answers an API's use_dpop_nonce once with its nonce (RFC 9449 §9)", async () => {
    bound();
    const { c } = h.client();
    await c.signIn({ username: "maryo", password: "pw" });
    h.server.apiAnswers.push(() => askForNonce("api-1"));
    const response = await c.fetch(api);
    expect(response.status).toBe(200);
    const calls = h.seen.filter((r) => r.url === api);
    expect(calls.length).toBe(2);
    expect((await verified(calls[0]?.dpop ?? null)).payload.nonce).toBeUndefined();
    expect((await verified(calls[1]?.dpop ?? null)).payload.nonce).toBe("api-1");
  });

  it("axios sends Authorization: DPoP with a proof, and answers use_dpop_nonce once", async () => {
    bound();
    const { c } = h.client();
    await c.signIn({ username: "maryo", password: "pw" });
    h.server.apiAnswers.push(() => askForNonce("api-2"));
    const instance = axios.create({
      baseURL: h.server.issuer,
      adapter: async (config) => {
        const response = await h.fetch(axios.getUri(config), {
          method: config.method?.toUpperCase() ?? "GET",
          headers: {
            authorization: String(config.headers.Authorization ?? ""),
            dpop: String(config.headers.DPoP ?? ""),
          },
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
          throw new axios.AxiosError("failed", "ERR_BAD_REQUEST", config, null, answer);
        return answer;
      },
    });
    attachToAxios(instance, c);
    const { data } = await instance.delete("/api/things");
    expect(data.auth).toBe(`DPoP ${c.accessToken}`);
    const calls = h.seen.filter((r) => r.url.endsWith("/api/things"));
    const payloads = await Promise.all(calls.map(async (r) => (await verified(r.dpop)).payload));
    expect(payloads.map((p) => [p.htm, p.htu, p.nonce])).toEqual([
      ["DELETE", "https://auth.test/api/things", undefined],
      ["DELETE", "https://auth.test/api/things", "api-2"],
    ]);
    expect(payloads[1]?.ath).toBe(await sha256(c.accessToken as string));
  });

  it("takes a token with a cnf claim for bound whatever its token_type, as another tab's comes without one", async () => {
    bound();
    h.server.tokenType = "Bearer";
    const { c } = h.client();
    await c.signIn({ username: "maryo", password: "pw" });
    await c.fetch(api);
    expect(h.seen.at(-1)?.authorization).toBe(`DPoP ${c.accessToken}`);
  });
});

import { GRANT_TYPE_HANDOFF, GRANT_TYPE_REFRESH_TOKEN } from "@prolong/protocol";
import { describe, expect, it } from "vitest";
import {
  type Answer,
  handoffGrantRequest,
  processTokenAnswer,
  refreshGrantRequest,
} from "../src/token-endpoint.js";

const token = (claims: object) => `e30.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.sig`;
const answer = (status: number, body: Answer, headers: Record<string, string> = {}) =>
  [new Response(status === 204 ? null : JSON.stringify(body), { status, headers }), body] as const;

describe("requests", () => {
  it("builds the refresh grant (RFC 6749 §6) with the credential, or none for the cookie", () => {
    expect(refreshGrantRequest({ refresh_token: "rt" })).toEqual({
      grant_type: GRANT_TYPE_REFRESH_TOKEN,
      refresh_token: "rt",
    });
    expect(refreshGrantRequest({})).toEqual({ grant_type: GRANT_TYPE_REFRESH_TOKEN });
  });

  it("builds the handoff grant", () => {
    expect(handoffGrantRequest("c1")).toEqual({ grant_type: GRANT_TYPE_HANDOFF, code: "c1" });
  });
});

describe("processTokenAnswer", () => {
  it("reads a 200 with a usable access token as tokens, with or without a refresh token", () => {
    const access_token = token({ iat: 1, exp: 2 });
    for (const body of [{ access_token, refresh_token: "rt" }, { access_token }] as Answer[]) {
      const outcome = processTokenAnswer(...answer(200, body), 0);
      expect(outcome).toEqual({ kind: "tokens", body, claims: { iat: 1, exp: 2 } });
    }
  });

  it("reads invalid_grant as the end of the session, for prolong's reason", () => {
    const cases = [
      ["reuse_detected", "reused"],
      ["session_expired", "expired"],
      ["token_expired", "expired"],
      ["session_revoked", "revoked"],
      [undefined, "revoked"],
    ] as const;
    for (const [code, reason] of cases) {
      const body = { error: "invalid_grant", ...(code ? { prolong_error: code } : {}) } as Answer;
      expect(processTokenAnswer(...answer(400, body), 0)).toEqual({ kind: "end", reason });
    }
  });

  it("reads 204 (no refresh cookie reached the server) as the end of the session, expired", () => {
    expect(processTokenAnswer(...answer(204, {}), 0)).toEqual({ kind: "end", reason: "expired" });
  });

  it("reads anything else as a transient failure with its code, status and Retry-After", () => {
    const cases = [
      [answer(503, {}, { "retry-after": "7" }), "server_error", 7000],
      [answer(429, {}, { "retry-after": new Date(61_000).toUTCString() }), "rate_limited", 60_000],
      [answer(404, {}), "unexpected_answer", 0],
      [answer(400, { error: "invalid_request" } as Answer), "unexpected_answer", 0],
      [answer(200, { access_token: "not-a-jwt" }), "unexpected_answer", 0],
    ] as const;
    for (const [[response, body], code, wait] of cases) {
      const outcome = processTokenAnswer(response, body, 1000);
      expect(outcome).toMatchObject({ kind: "retry", status: response.status, wait, error: { code } });
    }
  });
});

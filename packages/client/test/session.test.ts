import { type AccessTokenClaims, EARLIEST_RENEWAL } from "@prolong/protocol";
import { describe, expect, it } from "vitest";
import { backoffUntil, nextStep, renewAt, settle } from "../src/session.js";
import type { TokenOutcome } from "../src/token-endpoint.js";

/** Claims with the times that matter here, in seconds. */
const claims = (iat: number, exp: number, rfa?: number) =>
  ({ iat, exp, ...(rfa === undefined ? {} : { rfa }) }) as AccessTokenClaims;

describe("renewAt", () => {
  it("renews at rfa when it comes before exp less the lead, less the jitter", () => {
    expect(renewAt(claims(0, 300, 240), 30_000, 4_000)).toBe(236_000);
  });

  it("renews lead before exp when that comes first", () => {
    expect(renewAt(claims(0, 3600, 2880), 900_000, 0)).toBe(2_700_000);
  });

  it("never renews before EARLIEST_RENEWAL of the token's life, whatever rfa, lead and jitter say", () => {
    // 10 s tokens with a 30 s lead would renew before they are issued.
    expect(renewAt(claims(100, 110, 101), 30_000, 10_000)).toBe(100_000 + 10_000 * EARLIEST_RENEWAL);
  });
});

describe("nextStep", () => {
  it("attempts once the backoff is over", () => {
    expect(nextStep(0, 1000, true)).toBe("attempt");
    expect(nextStep(1000, 1000, false)).toBe("attempt");
  });

  it("waits out the backoff while the token is valid, and defers once it has expired", () => {
    expect(nextStep(2000, 1000, false)).toBe("wait");
    expect(nextStep(2000, 1000, true)).toBe("defer");
  });
});

describe("backoffUntil", () => {
  it("doubles from 500 ms, jittered down to half, up to the longest delay", () => {
    expect(backoffUntil(0, 0, 1000, 0.999_999, 30_000)).toBeCloseTo(1500, 0);
    expect(backoffUntil(3, 0, 0, 0, 30_000)).toBe(2000);
    expect(backoffUntil(20, 0, 0, 0.999_999, 30_000)).toBeCloseTo(30_000, 0);
  });

  it("never comes before the server's Retry-After", () => {
    expect(backoffUntil(0, 60_000, 1000, 0, 30_000)).toBe(61_000);
  });
});

describe("settle", () => {
  const end: TokenOutcome = { kind: "end", reason: "revoked" };

  it("ends the session the request spoke for", () => {
    expect(settle(end, "a", "a")).toBe(end);
  });

  it("lets a session begun while the request was out stand", () => {
    expect(settle(end, "a", "b")).toEqual({ kind: "stand" });
    expect(settle(end, null, "b")).toEqual({ kind: "stand" });
  });

  it("passes tokens and transient failures through", () => {
    const retry: TokenOutcome = { kind: "retry", error: new Error("x"), status: 503, wait: 0 };
    expect(settle(retry, "a", "b")).toBe(retry);
  });
});

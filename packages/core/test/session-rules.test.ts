import {
  accessTokenStanding,
  countGrant,
  planGrant,
  planRotation,
  planSessionLimit,
  planStepUp,
  type RotateRequest,
  type SessionRecord,
  type SubjectRecord,
  sessionEndsAt,
  slideIdleDeadline,
  spendsGrant,
  standing,
} from "@prolong/core";
import { describe, expect, it } from "vitest";

const T = Date.UTC(2026, 0, 1);

function session(changes: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id: "s1",
    subjectId: "u1",
    clientId: "web",
    deviceName: null,
    userAgent: null,
    ip: null,
    createdAt: T,
    authTime: T,
    lastActiveAt: T,
    idleExpiresAt: T + 3_600_000,
    absoluteExpiresAt: T + 7_200_000,
    tokenVersion: 0,
    generation: 1,
    currentHash: "current",
    previousHash: "previous",
    rotatedAt: T,
    revokedAt: null,
    revokedReason: null,
    dpopJkt: null,
    deviceKey: null,
    acr: null,
    amr: null,
    actor: null,
    ...changes,
  };
}

function subject(changes: Partial<SubjectRecord> = {}): SubjectRecord {
  return {
    id: "u1",
    disabled: false,
    tokenVersion: 0,
    reauthRequiredAt: null,
    claims: {},
    createdAt: T,
    updatedAt: T,
    ...changes,
  };
}

describe("accessTokenStanding", () => {
  it("is the session's standing for a token of the subject's current version", () => {
    expect(accessTokenStanding({ ver: 0 }, session(), subject(), T + 1)).toBe("good");
    expect(accessTokenStanding({ ver: 0 }, session({ revokedAt: T }), subject(), T + 1)).toBe(
      "session_revoked",
    );
  });

  it("calls a token minted before the subject's version superseded, whatever its session row says", () => {
    const current = subject({ tokenVersion: 2 });
    expect(accessTokenStanding({ ver: 1 }, session({ tokenVersion: 2 }), current, T + 1)).toBe("superseded");
    expect(accessTokenStanding({ ver: 2 }, session({ tokenVersion: 2 }), current, T + 1)).toBe("good");
  });
});

describe("slideIdleDeadline", () => {
  it("slides by the idle timeout, never past the absolute limit", () => {
    expect(slideIdleDeadline({ absoluteExpiresAt: null }, T, 1000)).toBe(T + 1000);
    expect(slideIdleDeadline({ absoluteExpiresAt: T + 500 }, T, 1000)).toBe(T + 500);
  });
});

describe("standing", () => {
  it("is good for a live session of an enabled subject", () => {
    expect(standing(session(), subject(), T + 1)).toBe("good");
  });

  it("names each reason a session may not go on", () => {
    expect(standing(session({ revokedAt: T }), subject(), T + 1)).toBe("session_revoked");
    expect(standing(session(), subject(), T + 3_600_000)).toBe("session_expired");
    expect(standing(session({ idleExpiresAt: T + 9_000_000 }), subject(), T + 7_200_000)).toBe(
      "session_expired",
    );
    expect(standing(session(), subject({ disabled: true }), T + 1)).toBe("user_disabled");
    expect(standing(session(), subject({ tokenVersion: 1 }), T + 1)).toBe("superseded");
    // Signed in at or before the request: refused; signed in after it: fine (P8).
    expect(standing(session(), subject({ reauthRequiredAt: T }), T + 1)).toBe("reauth_required");
    expect(standing(session({ authTime: T + 1 }), subject({ reauthRequiredAt: T }), T + 2)).toBe("good");
  });

  it("tells a disabled subject so before anything else, then revoked before expired", () => {
    const ended = session({ revokedAt: T });
    expect(standing(ended, subject({ disabled: true }), T + 3_600_000)).toBe("user_disabled");
    expect(standing(ended, subject({ tokenVersion: 1 }), T + 3_600_000)).toBe("session_revoked");
    expect(standing(session(), subject({ tokenVersion: 1, reauthRequiredAt: T }), T + 3_600_000)).toBe(
      "session_expired",
    );
  });
});

describe("sessionEndsAt", () => {
  it("is the idle deadline or the absolute one, whichever comes first", () => {
    expect(sessionEndsAt(session())).toBe(T + 3_600_000);
    expect(sessionEndsAt(session({ idleExpiresAt: T + 9_000_000 }))).toBe(T + 7_200_000);
    expect(sessionEndsAt(session({ absoluteExpiresAt: null }))).toBe(T + 3_600_000);
  });
});

describe("planRotation", () => {
  const request = (changes: Partial<RotateRequest> = {}): RotateRequest => ({
    sessionId: "s1",
    clientId: "web",
    generation: 1,
    presentedHash: "current",
    successorHash: "successor",
    now: T + 1,
    graceMs: 30_000,
    idleTimeoutMs: 3_600_000,
    ...changes,
  });

  it("answers unknown, writing nothing, for a token presented by another client (RFC 6749 §6)", () => {
    expect(planRotation(session(), request({ clientId: "native" }))).toEqual({
      status: "unknown",
      changes: null,
    });
    // Even an older generation, which from the right client would be reuse and revoke.
    expect(planRotation(session(), request({ clientId: "native", generation: 0 }))).toEqual({
      status: "unknown",
      changes: null,
    });
    expect(planRotation(session(), request({ generation: 0 })).status).toBe("reused");
    expect(planRotation(session(), request()).status).toBe("rotated");
  });

  it("revokes a DPoP-bound session (key_mismatch) when the refresh lacks a proof of its key (RFC 9449 §5)", () => {
    const bound = session({ dpopJkt: "jkt-a" });
    const revoke = { status: "mismatched", changes: { revokedAt: T + 1, revokedReason: "key_mismatch" } };
    expect(planRotation(bound, request())).toEqual(revoke);
    expect(planRotation(bound, request({ proofJkt: null }))).toEqual(revoke);
    expect(planRotation(bound, request({ proofJkt: "jkt-b" }))).toEqual(revoke);
    // Whatever the token: a replayed or unknown one shown without the key is stolen too.
    expect(planRotation(bound, request({ generation: 0 }))).toEqual(revoke);
    expect(planRotation(bound, request({ presentedHash: "nothing" }))).toEqual(revoke);
    expect(planRotation(bound, request({ proofJkt: "jkt-a" })).status).toBe("rotated");
    // An unbound session ignores a proof that came.
    expect(planRotation(session(), request({ proofJkt: "jkt-b" })).status).toBe("rotated");
  });

  it("checks the key binding after the client, revoked and expired checks and before the token", () => {
    const bound = (changes: Partial<SessionRecord>) => session({ dpopJkt: "jkt-a", ...changes });
    expect(planRotation(bound({}), request({ clientId: "native" })).status).toBe("unknown");
    expect(planRotation(bound({ revokedAt: T }), request()).status).toBe("revoked");
    expect(planRotation(bound({}), request({ now: T + 3_600_000 })).status).toBe("expired");
  });

  it("refuses a device-bound session without its bound cookie, writing nothing", () => {
    const device = session({ deviceKey: '{"kty":"EC"}' });
    expect(planRotation(device, request())).toEqual({ status: "unbound", changes: null });
    expect(planRotation(device, request({ deviceBound: false }))).toEqual({
      status: "unbound",
      changes: null,
    });
    expect(planRotation(device, request({ deviceBound: true })).status).toBe("rotated");
    expect(planRotation(session(), request({ deviceBound: false })).status).toBe("rotated");
    // A missing DPoP proof is the graver finding, so it is checked first.
    const both = session({ deviceKey: '{"kty":"EC"}', dpopJkt: "jkt-a" });
    expect(planRotation(both, request()).status).toBe("mismatched");
    expect(planRotation(both, request({ proofJkt: "jkt-a" })).status).toBe("unbound");
    expect(planRotation(device, request({ now: T + 3_600_000 })).status).toBe("expired");
  });
});

describe("the per-session grant budget (planGrant, spendsGrant, countGrant)", () => {
  const budget = { max: 2, windowMs: 60_000 };

  it("refuses only while a running window counts max grants, until its end", () => {
    expect(planGrant(null, budget, T)).toEqual({ status: "allowed" });
    expect(planGrant({ count: 1, resetAt: T + 10 }, budget, T)).toEqual({ status: "allowed" });
    expect(planGrant({ count: 2, resetAt: T + 10 }, budget, T + 9)).toEqual({
      status: "limited",
      resetAt: T + 10,
    });
    expect(planGrant({ count: 2, resetAt: T + 10 }, budget, T + 10)).toEqual({ status: "allowed" });
  });

  it("counts into the running window, or starts a new one at now", () => {
    expect(countGrant(null, budget, T)).toEqual({ count: 1, resetAt: T + 60_000 });
    expect(countGrant({ count: 1, resetAt: T + 10 }, budget, T + 9)).toEqual({ count: 2, resetAt: T + 10 });
    expect(countGrant({ count: 2, resetAt: T + 10 }, budget, T + 10)).toEqual({
      count: 1,
      resetAt: T + 60_010,
    });
  });

  it("spends a grant on every outcome but a grace-window replay", () => {
    expect(spendsGrant("replayed")).toBe(false);
    for (const status of [
      "rotated",
      "overtaken",
      "reused",
      "revoked",
      "expired",
      "mismatched",
      "unbound",
      "unknown",
    ] as const) {
      expect(spendsGrant(status)).toBe(true);
    }
  });
});

describe("planSessionLimit", () => {
  const limit = { max: 2, clientIds: ["web", "native"], onLimit: "evict" as const };
  const now = T + 60_000;

  it("below the limit creates and evicts nothing", () => {
    const plan = planSessionLimit([session({ id: "a" })], limit, now);
    expect(plan).toEqual({ status: "created", evicted: [] });
  });

  it("at the limit evicts the least recently active, ties by the smaller id", () => {
    const sessions = [
      session({ id: "c", lastActiveAt: T + 5 }),
      session({ id: "b", lastActiveAt: T + 1 }),
      session({ id: "a", lastActiveAt: T + 1, clientId: "native" }),
    ];
    expect(planSessionLimit(sessions, limit, now)).toEqual({ status: "created", evicted: ["a", "b"] });
    expect(planSessionLimit(sessions, { ...limit, max: 3 }, now)).toEqual({
      status: "created",
      evicted: ["a"],
    });
  });

  it("counts only the subject's own live sessions of the limit's clients", () => {
    const sessions = [
      session({ id: "revoked", revokedAt: T, revokedReason: "logout" }),
      session({ id: "expired", idleExpiresAt: now }),
      session({ id: "other-client", clientId: "cli" }),
      session({ id: "impersonated", actor: "admin-1" }),
      session({ id: "live", lastActiveAt: T + 9 }),
    ];
    expect(planSessionLimit(sessions, limit, now)).toEqual({ status: "created", evicted: [] });
    expect(planSessionLimit(sessions, { ...limit, max: 1 }, now)).toEqual({
      status: "created",
      evicted: ["live"],
    });
  });

  it("refuse answers how many stand at the limit", () => {
    const sessions = [session({ id: "a" }), session({ id: "b" }), session({ id: "c" })];
    expect(planSessionLimit(sessions, { ...limit, onLimit: "refuse" }, now)).toEqual({
      status: "refused",
      live: 3,
    });
  });

  it("names the member of a limit it cannot apply", () => {
    expect(() => planSessionLimit([], { ...limit, max: 0 }, now)).toThrow(/SessionLimit\.max/);
    expect(() => planSessionLimit([], { ...limit, max: 1.5 }, now)).toThrow(/SessionLimit\.max/);
    expect(() => planSessionLimit([], { ...limit, onLimit: "drop" as "evict" }, now)).toThrow(
      /SessionLimit\.onLimit/,
    );
  });
});

describe("planStepUp", () => {
  const stored = { authTime: T + 1000, acr: "urn:example:pwd", amr: ["pwd"] };

  it("raises authTime, never lowers it", () => {
    expect(planStepUp(stored, { authTime: T + 2000 }).authTime).toBe(T + 2000);
    expect(planStepUp(stored, { authTime: T }).authTime).toBe(T + 1000);
  });

  it("keeps what is left out, sets what is given, clears a given null", () => {
    expect(planStepUp(stored, { authTime: T })).toEqual(stored);
    expect(planStepUp(stored, { authTime: T, acr: "urn:example:mfa", amr: ["pwd", "otp"] })).toEqual({
      authTime: T + 1000,
      acr: "urn:example:mfa",
      amr: ["pwd", "otp"],
    });
    expect(planStepUp(stored, { authTime: T, acr: null, amr: null })).toEqual({
      authTime: T + 1000,
      acr: null,
      amr: null,
    });
  });
});

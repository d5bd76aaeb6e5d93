import { ProlongError } from "../errors.js";
import { profileOf } from "../policy.js";
import type { RefreshToken } from "../refresh-token.js";
import type { GrantBudget } from "../store/index.js";
import { admitSession, standingError } from "./admission.js";
import type { EngineContext } from "./context.js";
import { requireProofFor } from "./dpop-proofs.js";
import { grantAccess, type RefreshedTokens, withRefreshToken } from "./grants.js";
import { reportRevoked } from "./revoke.js";

/** What {@link refresh} takes. */
export interface RefreshInput {
  /** The presented token, as sent or as {@link openRefreshToken} opened it. */
  refreshToken: string | RefreshToken;
  clientId: string;
  /** The session's grant budget (the host's configuration), spent by the rotation itself. */
  budget?: GrantBudget;
  /**
   * The request carried a valid DBSC bound cookie for this session (docs/bound-sessions.md):
   * a session whose browser registered a key refreshes only with it.
   */
  deviceBound?: boolean;
  /**
   * RFC 7638 thumbprint of the key of the DPoP proof the request came with, checked and
   * its `jti` claimed by the caller; absent or `null` when none came. A session bound to a
   * key refreshes only with a proof of that key.
   */
  proofJkt?: string | null;
}

const invalidGrant = () => new ProlongError("invalid_grant", "refresh token is invalid");

/**
 * Opens a presented refresh token: `null` unless it is well formed and its tag checks out.
 * A host may open it first (to rate-limit per session without trusting an
 * unauthenticated id) and pass the result to {@link refresh}, so it is parsed once.
 */
export function openRefreshToken(ctx: EngineContext, value: string): RefreshToken | null {
  return typeof value === "string" ? ctx.codec.open(value) : null;
}

/**
 * Refresh with rotation (RFC 6749 §6, P4, P5), in one pass: the token is authenticated
 * (or was, by `openRefreshToken`), its successor derived, and one store call settles
 * everything else (`rotate`: the client binding, revoked, expired, current, grace-window
 * replay or reuse) and returns the session with its subject, whose standing is then
 * checked. Replaying the previous token inside the grace window returns the same
 * successor; the one before it (a straggler), inside that window, gets an access token
 * and no refresh token; replaying any older one, or either outside the window, revokes
 * the session (docs/protocol.md, "Rotation: replays and stragglers").
 *
 * With a `budget`, the same store call checks and spends the session's grant budget: over
 * it, the refresh fails with `rate_limited` (its `retryAt` says when the budget refills)
 * and nothing is rotated; a replay is free, everything else it answers counts, failures
 * included (RotateOutcome).
 */
export async function refresh(ctx: EngineContext, input: RefreshInput): Promise<RefreshedTokens> {
  const presented = input.refreshToken;
  const token =
    typeof presented === "string"
      ? openRefreshToken(ctx, presented)
      : ctx.codec.vouches(presented)
        ? presented
        : null;
  if (!token) throw invalidGrant();
  const profile = profileOf(ctx.policy, input.clientId);
  const proofJkt = input.proofJkt ?? null;
  requireProofFor(profile, proofJkt);
  const successor = ctx.codec.next(token);
  const now = ctx.clock.now();
  const outcome = await ctx.store.sessions.rotate({
    sessionId: token.sessionId,
    // RFC 6749 §6: the store answers `unknown` for a token of another client.
    clientId: input.clientId,
    generation: token.generation,
    presentedHash: token.hash,
    successorHash: successor.hash,
    now,
    graceMs: profile.graceWindow * 1000,
    idleTimeoutMs: profile.idleTimeout * 1000,
    budget: input.budget ?? null,
    deviceBound: input.deviceBound === true,
    proofJkt,
  });
  if (outcome.status === "limited") {
    throw new ProlongError("rate_limited", "too many grants for this session", { retryAt: outcome.resetAt });
  }
  if (outcome.status === "unknown") throw invalidGrant();
  // A DBSC session refreshed without its bound cookie: refused with a code that is no
  // grant failure (so no client signs out over it: the browser renews the cookie and
  // retries), as the store wrote nothing.
  if (outcome.status === "unbound") {
    throw new ProlongError("device_unbound", "this session refreshes only with its device-bound cookie");
  }
  if (outcome.status === "mismatched") {
    // A bound refresh token shown without its key was copied off the device that holds
    // the key (that device always has it): the store revoked the session in the same
    // step, so neither the thief nor the holder gets another token from it
    // (docs/bound-sessions.md, "Turning DPoP on").
    await reportRevoked(ctx, outcome.session, "key_mismatch", now);
    throw new ProlongError(
      "invalid_grant",
      "refresh token is bound to a DPoP key this request did not prove; the session is revoked",
    );
  }
  const { session, subject } = outcome;
  if (outcome.status === "reused") {
    await ctx.events.emit({
      type: "reuse_detected",
      subjectId: session.subjectId,
      sessionId: session.id,
      generation: token.generation,
      at: now,
    });
    await reportRevoked(ctx, session, "reuse", now);
    throw new ProlongError("reuse_detected", "refresh token was reused; the session is revoked");
  }
  // The successor is derived, so a replay must land on the stored current token, and a
  // straggler two derivations away on it: the store keeps no hash of a straggler, and this
  // ties it to the session's one chain of tokens beyond its MAC.
  const overtaken = outcome.status === "overtaken";
  const current = outcome.status === "rotated" || outcome.status === "replayed" || overtaken;
  const landsOn = overtaken ? ctx.codec.next(successor).hash : successor.hash;
  if (current && session.currentHash !== landsOn) throw invalidGrant();
  // Standing is checked on what `rotate` returned, after it may have rotated. A session
  // that fails here cannot go on whatever the reason: revoked or expired (rotate wrote
  // nothing then), its subject disabled (which revokes every session it has), superseded
  // by "log out everywhere" (admission revokes it), or signed in before a re-auth was asked
  // (its auth_time never changes). So its unsent successor is never wanted, and checking
  // before rotating would cost a second round trip on every refresh.
  await admitSession(ctx, session, subject, now);
  // admitSession refused both already; a store that disagreed with session-rules.ts lands here.
  if (!current) throw standingError(outcome.status === "revoked" ? "session_revoked" : "session_expired");
  // RFC 9449 §5: the access token is bound to the key the request proved, if any.
  const grant = await grantAccess(ctx, subject, session, profile, proofJkt);
  const replayed = outcome.status === "replayed";
  await ctx.events.emit({
    type: "refreshed",
    subjectId: subject.id,
    sessionId: session.id,
    replayed,
    straggler: overtaken,
    at: now,
  });
  // A straggler gets no refresh token: the successor it would derive is the previous
  // token, and the current one is no one's to hand a token that old (docs/protocol.md).
  return overtaken
    ? withRefreshToken(grant, null, false)
    : withRefreshToken(grant, successor.value, replayed);
}

import { ProlongError } from "../errors.js";
import { profileOf } from "../policy.js";
import { accessTokenStanding } from "../session-rules.js";
import type { GrantBudget } from "../store/index.js";
import { sessionOfAccessToken } from "./access-token-session.js";
import { admit } from "./admission.js";
import type { EngineContext } from "./context.js";
import { requireProofFor } from "./dpop-proofs.js";
import { type ExchangedToken, grantAccess } from "./grants.js";

/** What {@link exchange} takes. */
export interface ExchangeInput {
  accessToken: string;
  /** When given, the token must have been issued to this client. */
  clientId?: string;
  /** The session's grant budget (the host's configuration), spent by the same store call. */
  budget?: GrantBudget;
  /** RFC 7638 thumbprint of the key of the request's checked DPoP proof; absent or `null` when none came. */
  proofJkt?: string | null;
}

/**
 * Stateless exchange (P10, RFC 8693): a valid, unexpired access token buys a new one for
 * the same session, bounded by the absolute lifetime, under the same standing rule as a
 * refresh. Opt-in per profile. With a `budget`, the session's grant budget, shared with
 * its refreshes, is checked and spent by the same store call that records the activity:
 * over it, `rate_limited` (with `retryAt`) and nothing is written.
 */
export async function exchange(ctx: EngineContext, input: ExchangeInput): Promise<ExchangedToken> {
  const found = await sessionOfAccessToken(ctx, input.accessToken);
  if (!found) throw new ProlongError("invalid_grant", "token is invalid");
  const { claims, session, subject } = found;
  if (input.clientId !== undefined && input.clientId !== session.clientId) {
    throw new ProlongError("invalid_grant", "token was issued to another client");
  }
  const profile = profileOf(ctx.policy, session.clientId);
  // Opt-in per profile, and only where an absolute lifetime ends the chain (validatePolicy).
  if (!profile.exchange) {
    throw new ProlongError("unauthorized_client", "this client may not use the token exchange");
  }
  const proofJkt = input.proofJkt ?? null;
  requireProofFor(profile, proofJkt);
  // A bound token (RFC 9449 §6.1), or any token of a bound session, buys another only
  // with a proof of its key: a copied one is worth nothing without the device.
  const bound = claims.cnf?.jkt ?? session.dpopJkt;
  if (bound && proofJkt !== bound) {
    throw new ProlongError("invalid_grant", "token is bound to a DPoP key this request did not prove");
  }
  const now = ctx.clock.now();
  await admit(ctx, session, accessTokenStanding(claims, session, subject, now));
  const touched = await ctx.store.sessions.touchSession(
    session.id,
    now,
    profile.idleTimeout * 1000,
    input.budget ?? null,
  );
  // Live at `now` a moment ago, so only a revocation in between explains a miss.
  if (!touched) throw new ProlongError("session_revoked", "session was revoked");
  if ("status" in touched) {
    throw new ProlongError("rate_limited", "too many grants for this session", { retryAt: touched.resetAt });
  }
  const grant = await grantAccess(ctx, subject, touched, profile, proofJkt);
  await ctx.events.emit({ type: "exchanged", subjectId: subject.id, sessionId: session.id, at: now });
  return grant;
}

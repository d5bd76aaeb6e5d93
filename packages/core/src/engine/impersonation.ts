import { ProlongError } from "../errors.js";
import { profileOf } from "../policy.js";
import type { SessionRecord } from "../store/index.js";
import { checkSubjectId, subjectIdProblem } from "../subject-id.js";
import { admitSubject } from "./admission.js";
import { authenticate } from "./authenticate.js";
import type { EngineContext } from "./context.js";
import type { IssuedTokens } from "./grants.js";
import { type SessionContext, startSession } from "./sign-in.js";

/**
 * Impersonation (docs/session-policies.md, "Impersonation"): an administrator signs in
 * as a user to see what they see. The session is the user's (`sub`), its tokens name the
 * administrator in `act` (RFC 8693 §4.1), and it ends at a hard limit however often it
 * refreshes. It is not one of the user's devices: device limits leave it alone.
 */

/** The default and largest `impersonation.maxTtlSeconds`: an hour, and a day. */
export const DEFAULT_IMPERSONATION_MAX_TTL = 3600;
export const IMPERSONATION_TTL_CEILING = 86_400;

export interface ImpersonationInput
  extends Pick<SessionContext, "clientId" | "deviceName" | "userAgent" | "ip"> {
  /** The user to act as. */
  subjectId: string;
  /** The administrator's own subject id: the `act.sub` of every token. */
  actor: string;
  /** The session's lifetime in seconds; at most the configured `maxTtlSeconds`. */
  ttlSeconds: number;
  /**
   * The administrator's own access token, when administrators sign in with prolong too
   * (RFC 8693 §2.1's `actor_token`): its `sub` must be `actor`, and a token that itself
   * carries `act` is refused, so one impersonation cannot start another.
   */
  actorToken?: string;
}

/**
 * Starts an impersonation session and answers its tokens. The administrator's tool holds
 * them, so only clients whose refresh token travels in the body qualify; a web client's
 * cookie would land with the administrator's backend, not a browser.
 */
export async function impersonate(ctx: EngineContext, input: ImpersonationInput): Promise<IssuedTokens> {
  const subjectId = checkSubjectId(input.subjectId);
  const actorProblem = subjectIdProblem(input.actor);
  if (actorProblem !== null) throw new ProlongError("invalid_request", `actor: ${actorProblem}`);
  const actor = input.actor;
  if (actor === subjectId)
    throw new ProlongError("invalid_request", "actor: must be someone else than the user");
  const max = ctx.impersonationMaxTtl;
  if (!Number.isInteger(input.ttlSeconds) || input.ttlSeconds < 1 || input.ttlSeconds > max) {
    throw new ProlongError(
      "invalid_request",
      `ttlSeconds: must be a whole number of seconds from 1 to ${max}`,
    );
  }
  const clientId = input.clientId ?? ctx.policy.defaultClientId;
  if (profileOf(ctx.policy, clientId).refreshTransport !== "body") {
    throw new ProlongError(
      "unauthorized_client",
      `client ${clientId} takes its refresh token in a cookie; impersonation answers tokens, so name a client whose refresh token travels in the body`,
    );
  }
  if (input.actorToken !== undefined) {
    const caller = await authenticate(ctx, input.actorToken);
    refuseImpersonator(caller.session, "starting an impersonation");
    if (caller.claims.sub !== actor) {
      throw new ProlongError("invalid_request", "actor: must be the subject of the actor token");
    }
  }
  const now = ctx.clock.now();
  const subject = await ctx.store.sessions.ensureSubject(subjectId, now);
  admitSubject(subject);
  return startSession(
    ctx,
    subject,
    {
      clientId,
      deviceName: input.deviceName ?? null,
      userAgent: input.userAgent ?? null,
      ip: input.ip ?? null,
    },
    { actor, expiresAt: now + input.ttlSeconds * 1000 },
  );
}

/**
 * Refuses, with `impersonation_forbidden`, an operation that is the user's alone when the
 * session asking is an administrator's: changing the password, ending the user's other
 * sessions (or all of them), starting another impersonation.
 */
export function refuseImpersonator(session: Pick<SessionRecord, "actor">, operation: string): void {
  if (session.actor !== null) {
    throw new ProlongError(
      "impersonation_forbidden",
      `${operation} is not allowed while impersonating a user`,
    );
  }
}

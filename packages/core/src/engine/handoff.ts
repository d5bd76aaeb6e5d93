import { checkAcr, checkAmr } from "../authentication-context.js";
import { cleanDeviceName } from "../device-name.js";
import { ProlongError } from "../errors.js";
import { encodeBase64url } from "../lib/base64url.js";
import { sha256Base64url } from "../lib/crypto.js";
import { profileOf } from "../policy.js";
import { checkSubjectId } from "../subject-id.js";
import { admitSubject } from "./admission.js";
import type { EngineContext } from "./context.js";
import type { IssuedTokens } from "./grants.js";
import { type SessionContext, startSession } from "./sign-in.js";

/**
 * How long a handoff code can be redeemed (docs/protocol.md, "Handoff grant"): enough
 * for a redirect and a page load, short enough that a code copied from a log or a
 * history is long dead.
 */
export const HANDOFF_TTL_SECONDS = 60;

/** 256 random bits, base64url without padding: unguessable, so only its hash is kept. */
const CODE_BYTES = 32;
const CODE = /^[A-Za-z0-9_-]{43}$/;

/** A code for the browser, and how many seconds it stays redeemable. */
export interface Handoff {
  code: string;
  expiresIn: number;
}

/**
 * A one-time code that starts a web session for `subjectId` when the browser redeems it
 * at the token endpoint, which sets the refresh cookie: the backend that authenticated
 * the user never holds the session's refresh token, and the browser's script never sees
 * it. Only for clients whose refresh token travels in a cookie (the others take their
 * tokens from the backend directly). The subject is created on first use. The `acr` and
 * `amr` the backend vouches for travel with the code, so the session's first access token
 * already carries them (RFC 9068 §2.2.1, RFC 8176).
 */
export async function createHandoff(
  ctx: EngineContext,
  input: {
    subjectId: string;
    clientId?: string;
    deviceName?: string | null;
    acr?: string | null;
    amr?: string[] | null;
  },
): Promise<Handoff> {
  const subjectId = checkSubjectId(input.subjectId);
  const acr = checkAcr(input.acr) ?? null;
  const amr = checkAmr(input.amr) ?? null;
  const clientId = input.clientId ?? ctx.policy.defaultClientId;
  if (profileOf(ctx.policy, clientId).refreshTransport !== "cookie") {
    throw new ProlongError(
      "unauthorized_client",
      `client ${clientId} takes its refresh token in the body, not through a handoff`,
    );
  }
  const now = ctx.clock.now();
  const subject = await ctx.store.sessions.ensureSubject(subjectId, now);
  admitSubject(subject);
  const code = encodeBase64url(ctx.random.bytes(CODE_BYTES));
  await ctx.store.sessions.putHandoff({
    hash: sha256Base64url(code),
    subjectId,
    clientId,
    deviceName: cleanDeviceName(input.deviceName),
    tokenVersion: subject.tokenVersion,
    acr,
    amr,
    createdAt: now,
    expiresAt: now + HANDOFF_TTL_SECONDS * 1000,
  });
  return { code, expiresIn: HANDOFF_TTL_SECONDS };
}

/**
 * Redeems a handoff code for `clientId`: takes it from the store (once, atomically) and
 * starts the session it stands for. Unknown, used, expired and another client's codes
 * fail alike with `invalid_grant` (RFC 6749 §5.2), and a code presented by another
 * client is spent all the same: whoever holds it is not whom it was made for.
 */
export async function redeemHandoff(
  ctx: EngineContext,
  input: { code: string; clientId: string } & Omit<SessionContext, "clientId" | "deviceName" | "acr" | "amr">,
): Promise<IssuedTokens> {
  profileOf(ctx.policy, input.clientId);
  const unusable = () =>
    new ProlongError("invalid_grant", "the handoff code is unknown, used, expired or for another client");
  // A value no code can have never reaches the store.
  if (typeof input.code !== "string" || !CODE.test(input.code)) throw unusable();
  const now = ctx.clock.now();
  const handoff = await ctx.store.sessions.takeHandoff(sha256Base64url(input.code), now);
  if (!handoff || handoff.clientId !== input.clientId) throw unusable();
  const subject = await ctx.store.sessions.findSubject(handoff.subjectId);
  if (!subject) throw unusable();
  // What happened to the subject since the backend vouched for it counts as it would
  // for a session started then (session-rules.ts, `standing`).
  admitSubject(subject);
  if (subject.tokenVersion !== handoff.tokenVersion)
    throw new ProlongError("session_revoked", "the user was logged out everywhere after the code was made");
  if (subject.reauthRequiredAt !== null && handoff.createdAt <= subject.reauthRequiredAt)
    throw new ProlongError("reauth_required", "the user must sign in again");
  return startSession(ctx, subject, {
    clientId: handoff.clientId,
    deviceName: handoff.deviceName,
    userAgent: input.userAgent ?? null,
    ip: input.ip ?? null,
    // The browser that redeems the code proves its key here, so its session is bound to it.
    dpopJkt: input.dpopJkt ?? null,
    // What the backend vouched for, never what the redeeming browser might claim.
    acr: handoff.acr,
    amr: handoff.amr,
  });
}

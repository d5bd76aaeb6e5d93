import { checkAcr, checkAmr } from "../authentication-context.js";
import { cleanDeviceName, deviceNameFromUserAgent } from "../device-name.js";
import { ProlongError } from "../errors.js";
import { normalizeUsername, verifyPassword } from "../passwords.js";
import { profileOf } from "../policy.js";
import { randomId } from "../random.js";
import { slideIdleDeadline } from "../session-rules.js";
import type { SessionRecord, SubjectRecord } from "../store/index.js";
import { checkSubjectId } from "../subject-id.js";
import { admitSubject } from "./admission.js";
import type { EngineContext } from "./context.js";
import { grantAccess, type IssuedTokens, withRefreshToken } from "./grants.js";
import { sessionLimitFor, settleSessionLimit } from "./session-limits.js";

/** Where a new session comes from; all optional, and cleaned before storing. */
export interface SessionContext {
  clientId?: string;
  deviceName?: string | null;
  userAgent?: string | null;
  ip?: string | null;
  /**
   * RFC 7638 thumbprint of the DPoP key the sign-in proved (RFC 9449): the session's
   * refresh tokens are bound to it for good, and its access tokens carry it as `cnf.jkt`.
   */
  dpopJkt?: string | null;
  /**
   * How the host authenticated the user (RFC 9068 §2.2.1 `acr`, RFC 8176 `amr`), carried
   * into every access token of the session until a step-up changes them.
   */
  acr?: string | null;
  amr?: string[] | null;
}

/** An administrator's session for the subject (impersonation.ts): who acts, and its hard end. */
export interface ActingAs {
  actor: string;
  /** The session's absolute end (ms), never moved by refreshes. */
  expiresAt: number;
}

const USER_AGENT_MAX = 512;
const IP_MAX = 64;

/**
 * Password sign-in with a built-in account. Unknown username and wrong password fail
 * alike, in about the same time.
 */
export async function signIn(
  ctx: EngineContext,
  input: { username: string; password: string } & SessionContext,
): Promise<IssuedTokens> {
  const clientId = input.clientId ?? ctx.policy.defaultClientId;
  profileOf(ctx.policy, clientId);
  let username: string | null;
  try {
    username = normalizeUsername(input.username);
  } catch {
    username = null;
  }
  // Awaited by every sign-in, known username or not: the first one of a process makes
  // it, and must cost the same either way.
  const decoy = await ctx.decoyHash();
  const account = username === null ? null : await ctx.store.accounts.findAccountByName(username);
  const hash = account?.passwordHash ?? decoy;
  const matches = await verifyPassword(typeof input.password === "string" ? input.password : "", hash);
  if (!account?.passwordHash || !matches) {
    await ctx.events.emit({
      type: "sign_in_failed",
      subjectId: account?.subjectId ?? null,
      ip: input.ip ?? null,
      at: ctx.clock.now(),
    });
    throw new ProlongError("invalid_credentials", "username or password is wrong");
  }
  // The subject is read, or created should its account have been stored without one.
  const subject = await ctx.store.sessions.ensureSubject(account.subjectId, ctx.clock.now());
  admitSubject(subject);
  // RFC 8176 §2: the built-in sign-in is a password; a host that knows more says so.
  return startSession(ctx, subject, { ...input, clientId, amr: input.amr ?? ["pwd"] });
}

/**
 * Starts a session for a subject the caller authenticated itself (an embedding backend's
 * own login; the admin API's "create session"). The subject is the application's user
 * id, validated (subject-id.ts) and created on first use; a disabled one is refused.
 */
export async function startSessionForSubject(
  ctx: EngineContext,
  input: { subjectId: string } & SessionContext,
): Promise<IssuedTokens> {
  const subjectId = checkSubjectId(input.subjectId);
  const clientId = input.clientId ?? ctx.policy.defaultClientId;
  profileOf(ctx.policy, clientId);
  const subject = await ctx.store.sessions.ensureSubject(subjectId, ctx.clock.now());
  admitSubject(subject);
  return startSession(ctx, subject, { ...input, clientId });
}

/**
 * The name a new session is listed under: the one the client gave, cleaned; else one
 * read from its user agent ("Chrome on Linux"); none when it sent no agent either.
 */
function nameOf(context: SessionContext): string | null {
  const given = cleanDeviceName(context.deviceName);
  if (given !== null || typeof context.userAgent !== "string") return given;
  return deviceNameFromUserAgent(context.userAgent);
}

/**
 * Starts a session for a subject already read and found enabled, under its profile's
 * device limit (session-limits.ts); `actingAs` makes it an administrator's
 * (impersonation.ts).
 */
export async function startSession(
  ctx: EngineContext,
  subject: SubjectRecord,
  context: SessionContext & { clientId: string },
  actingAs: ActingAs | null = null,
): Promise<IssuedTokens> {
  const profile = profileOf(ctx.policy, context.clientId);
  const acr = checkAcr(context.acr) ?? null;
  const amr = checkAmr(context.amr) ?? null;
  const now = ctx.clock.now();
  const id = randomId(ctx.random);
  const token = ctx.codec.issue(id, ctx.random);
  const profileEnd = profile.absoluteLifetime === null ? null : now + profile.absoluteLifetime * 1000;
  const absoluteExpiresAt =
    actingAs === null ? profileEnd : Math.min(actingAs.expiresAt, profileEnd ?? actingAs.expiresAt);
  const session: SessionRecord = {
    id,
    subjectId: subject.id,
    clientId: context.clientId,
    deviceName: nameOf(context),
    userAgent: clip(context.userAgent, USER_AGENT_MAX),
    ip: clip(context.ip, IP_MAX),
    createdAt: now,
    authTime: now,
    lastActiveAt: now,
    idleExpiresAt: slideIdleDeadline({ absoluteExpiresAt }, now, profile.idleTimeout * 1000),
    absoluteExpiresAt,
    tokenVersion: subject.tokenVersion,
    generation: token.generation,
    currentHash: token.hash,
    previousHash: null,
    rotatedAt: null,
    revokedAt: null,
    revokedReason: null,
    dpopJkt: context.dpopJkt ?? null,
    deviceKey: null,
    acr,
    amr,
    actor: actingAs?.actor ?? null,
  };
  const limit = sessionLimitFor(ctx, session);
  const outcome = await ctx.store.sessions.createSession(session, limit);
  await settleSessionLimit(ctx, session, limit, outcome);
  await ctx.events.emit({
    type: "signed_in",
    subjectId: subject.id,
    sessionId: id,
    clientId: context.clientId,
    ip: session.ip,
    actor: session.actor,
    at: now,
  });
  const grant = await grantAccess(ctx, subject, session, profile, session.dpopJkt);
  return withRefreshToken(grant, token.value, false);
}

function clip(value: string | null | undefined, max: number): string | null {
  if (typeof value !== "string" || value.length === 0) return null;
  return value.slice(0, max);
}

import { type Profile, profileOf } from "../policy.js";
import { standing } from "../session-rules.js";
import type { EngineContext } from "./context.js";

/**
 * Device Bound Session Credentials (W3C webappsec-dbsc draft; docs/bound-sessions.md,
 * "Browsers: DBSC"): a browser registers a key of its own with its session, and from
 * then on proves it holds that key to go on refreshing. The HTTP side (challenges, the
 * bound cookie, the browser's signed answers) is the server's; this is what it asks of
 * the store.
 */

/** A live session as DBSC sees it: the key it registered, if any, and the rules of its client. */
export interface DeviceBinding {
  sessionId: string;
  /** The registered public key (a JWK as JSON text), `null` while none is. */
  deviceKey: string | null;
  profile: Profile;
}

/**
 * Records the key a browser registered with a live session that has none: `taken` when
 * it has one already (a key is set once, so a second registration cannot replace the
 * device's), `missing` when the session is absent, revoked or expired.
 */
export function registerDeviceKey(
  ctx: EngineContext,
  sessionId: string,
  key: string,
): Promise<"registered" | "taken" | "missing"> {
  return ctx.store.sessions.registerDeviceKey(sessionId, key, ctx.clock.now());
}

/**
 * The binding of a session in good standing; `null` when it can never refresh again
 * (absent, revoked, expired, its subject disabled, signed out everywhere or asked to
 * sign in again: the rule every refresh applies), so its browser stops renewing.
 */
export async function deviceBinding(ctx: EngineContext, sessionId: string): Promise<DeviceBinding | null> {
  const found = await ctx.store.sessions.readSession(sessionId);
  if (!found || standing(found.session, found.subject, ctx.clock.now()) !== "good") return null;
  const { session } = found;
  return { sessionId, deviceKey: session.deviceKey, profile: profileOf(ctx.policy, session.clientId) };
}

/**
 * Claims a single-use value (a DBSC challenge, a proof id) until `expiresAt` (ms): `true`
 * the first time, on any instance sharing the store; `false` for a replay before then.
 */
export function claimOnce(ctx: EngineContext, key: string, expiresAt: number): Promise<boolean> {
  return ctx.store.replay.claim(key, expiresAt, ctx.clock.now());
}

import type { EngineContext } from "./context.js";

/**
 * Deletes sessions that ended, and security events recorded, more than `retain` seconds
 * ago (default 30 days), rate-limit windows and single-use claims that ended, and keys no token can need any more. Returns how many sessions
 * went. Never inside the revocation feed's window, so its snapshot stays complete.
 */
export async function purge(ctx: EngineContext, retain = 30 * 86_400): Promise<number> {
  const before = ctx.clock.now() - Math.max(retain * 1000, ctx.relevanceMs);
  const [deleted] = await Promise.all([
    ctx.store.sessions.purge(before),
    ctx.store.audit.purge(before),
    // Rate-limit windows matter only while they run.
    ctx.store.limits.purge(ctx.clock.now()),
    // Single-use claims matter only until they expire.
    ctx.store.replay.purge(ctx.clock.now()),
  ]);
  await ctx.keys.prune();
  return deleted;
}

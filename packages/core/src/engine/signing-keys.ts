import type { RingKey } from "../keys.js";
import type { EngineContext } from "./context.js";

/** The key ring as an administrator lists it. */
export interface KeyListing {
  /** Active, next, then retired keys (see `KeyRing.keys`). */
  keys: readonly RingKey[];
  next: RingKey | null;
  /** When the next key may sign without `force`; `null` when there is none. */
  rotationPossibleAt: number | null;
}

export function listKeys(ctx: EngineContext): KeyListing {
  return { keys: ctx.keys.keys, next: ctx.keys.next, rotationPossibleAt: ctx.keys.rotationPossibleAt() };
}

/**
 * Promotes the published next key to signing key and publishes a new next key; the
 * previous key keeps verifying until its tokens expire. Refused (`rotation_too_early`)
 * before the next key has been published long enough, unless `force`.
 */
export async function rotateKeys(ctx: EngineContext, options: { force?: boolean } = {}): Promise<RingKey> {
  const key = await ctx.keys.rotate(options);
  await ctx.keys.prune();
  return key;
}

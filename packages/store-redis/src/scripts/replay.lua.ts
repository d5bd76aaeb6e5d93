/**
 * The script of single-use claims (ReplayStore in core's store/replay.ts). A claim is
 * one string holding when it expires, compared with the caller's clock (stores never
 * read one); the Redis TTL only removes it once it can no longer matter.
 */
import { luaScript } from "./script.js";

/**
 * KEYS: the claim. ARGV: now, expiresAt, TTL in ms. 1 when the key was free or its claim
 * had expired (it is claimed until expiresAt now), 0 when a claim still runs.
 */
export const claim = luaScript(
  "prolongReplayClaim",
  { keys: 1, writes: true },
  `
local held = redis.call('GET', KEYS[1])
if held and tonumber(held) > tonumber(ARGV[1]) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
`,
);

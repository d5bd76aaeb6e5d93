/**
 * The scripts of one-time handoffs (HandoffRecord in core's store/sessions.ts). All of
 * them live in the `{handoffs}` slot: `<base>:h:<hash>` holds one handoff, and
 * `<base>:expiry` orders the hashes by expiry so that purge finds the expired ones.
 */
import { COMMON, luaScript } from "./script.js";

/**
 * KEYS: the handoff, the expiry index. ARGV: hash, expiresAt, TTL in ms, then the
 * handoff's field/value pairs. The TTL only cleans up after a handoff nobody redeemed.
 */
export const putHandoff = luaScript(
  "prolongPutHandoff",
  { keys: 2, writes: true },
  `
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1
`,
);

/**
 * KEYS: the handoff, the expiry index. ARGV: hash, now. Removes the handoff and
 * returns it when it has not expired at 'now'; removed all the same when it has. One
 * script, so of any number of racing takes exactly one finds it: a code redeems once.
 */
export const takeHandoff = luaScript(
  "prolongTakeHandoff",
  { keys: 2, writes: true },
  COMMON,
  `
local flat = redis.call('HGETALL', KEYS[1])
if #flat == 0 then
  return false
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if tonumber(ARGV[2]) >= tonumber(record(flat).expiresAt) then
  return false
end
return flat
`,
);

/** KEYS: the expiry index. ARGV: base, cut-off, chunk. Deletes up to 'chunk' handoffs that expired before the cut-off. */
export const purgeHandoffs = luaScript(
  "prolongPurgeHandoffs",
  { keys: 1, writes: true },
  `
local hashes = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
for _, hash in ipairs(hashes) do
  redis.call('DEL', ARGV[1] .. ':h:' .. hash)
  redis.call('ZREM', KEYS[1], hash)
end
return #hashes
`,
);

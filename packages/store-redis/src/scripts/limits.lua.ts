/**
 * The scripts of rate-limit windows (RateLimitStore in core's store/limits.ts). A
 * window is one hash, `count` and `resetAt`, compared with the caller's clock: the
 * Redis TTL only removes a window once it can no longer matter.
 */
import { COMMON, luaScript } from "./script.js";

/**
 * KEYS: the window. ARGV: now, windowMs, TTL in ms. Counts one event and returns
 * {count, resetAt}: the running window goes on, or a new one starts at 'now'.
 */
export const hit = luaScript(
  "prolongLimitHit",
  { keys: 1, writes: true },
  COMMON,
  `
local window = redis.call('HMGET', KEYS[1], 'count', 'resetAt')
local now = tonumber(ARGV[1])
if window[2] and tonumber(window[2]) > now then
  return {redis.call('HINCRBY', KEYS[1], 'count', 1), window[2]}
end
local reset = int(now + tonumber(ARGV[2]))
redis.call('HSET', KEYS[1], 'count', 1, 'resetAt', reset)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {1, reset}
`,
);

/** KEYS: the window. ARGV: now. Takes back one event of a running window that counts one or more. */
export const takeBack = luaScript(
  "prolongLimitTakeBack",
  { keys: 1, writes: true },
  `
local window = redis.call('HMGET', KEYS[1], 'count', 'resetAt')
if window[2] and tonumber(window[2]) > tonumber(ARGV[1]) and tonumber(window[1]) > 0 then
  redis.call('HINCRBY', KEYS[1], 'count', -1)
end
return 0
`,
);

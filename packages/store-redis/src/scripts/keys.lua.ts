/**
 * The scripts of signing keys and secrets (KeyStore in core's store/keys.ts). All of
 * them live in the `{keys}` slot: `<base>:k:<kid>` is a key, `<base>:kids` the set of
 * kids, `<base>:secrets` one hash of every secret.
 */
import { COMMON, luaScript } from "./script.js";

/** KEYS: the key, the kids. ARGV: kid, then the key's field/value pairs. 1 when stored, 0 when the kid exists. */
export const putKey = luaScript(
  "prolongPutKey",
  { keys: 2, writes: true },
  `
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('SADD', KEYS[2], ARGV[1])
return 1
`,
);

/** KEYS: the kids. ARGV: base. Every key. */
export const listKeys = luaScript(
  "prolongListKeys",
  { keys: 1, writes: false },
  `
local out = {}
for _, kid in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  out[#out + 1] = redis.call('HGETALL', ARGV[1] .. ':k:' .. kid)
end
return out
`,
);

/**
 * Key rotation in one step (KeyPromotion). KEYS: the kids. ARGV: base, next kid, '1'
 * when the caller saw an active key, that kid, now. 1 when 'next' was a next key and
 * the active key was still the one the caller saw; 0, changing nothing, otherwise.
 */
export const promoteKey = luaScript(
  "prolongPromoteKey",
  { keys: 1, writes: true },
  COMMON,
  `
local base = ARGV[1]
local next = record(redis.call('HGETALL', base .. ':k:' .. ARGV[2]))
if not next.kid or next.activatedAt or next.retiredAt then
  return 0
end
local active = {}
local seen = false
for _, kid in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local state = redis.call('HMGET', base .. ':k:' .. kid, 'activatedAt', 'retiredAt')
  if state[1] and not state[2] then
    active[#active + 1] = kid
    if ARGV[3] == '1' and kid == ARGV[4] then
      seen = true
    end
  end
end
if (ARGV[3] == '1' and not seen) or (ARGV[3] == '0' and #active > 0) then
  return 0
end
for _, kid in ipairs(active) do
  redis.call('HSET', base .. ':k:' .. kid, 'retiredAt', ARGV[5])
end
redis.call('HSET', base .. ':k:' .. ARGV[2], 'activatedAt', ARGV[5])
return 1
`,
);

/** KEYS: the key, the kids. ARGV: kid. 1 when it was deleted. */
export const deleteKey = luaScript(
  "prolongDeleteKey",
  { keys: 2, writes: true },
  `
local deleted = redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[1])
return deleted
`,
);

/**
 * Private keys replaced all at once (PrivateKeyChange). KEYS: the kids. ARGV: base, then
 * kid, from, to for each key. 1 when every key held its 'from'; 0, changing nothing, otherwise.
 */
export const replacePrivateKeys = luaScript(
  "prolongReplacePrivateKeys",
  { keys: 1, writes: true },
  `
local base = ARGV[1]
for i = 2, #ARGV, 3 do
  if redis.call('HGET', base .. ':k:' .. ARGV[i], 'privateKey') ~= ARGV[i + 1] then
    return 0
  end
end
for i = 2, #ARGV, 3 do
  redis.call('HSET', base .. ':k:' .. ARGV[i], 'privateKey', ARGV[i + 2])
end
return 1
`,
);

/** KEYS: the secrets. ARGV: name, candidate. The stored secret, 'candidate' stored first if there is none. */
export const claimSecret = luaScript(
  "prolongClaimSecret",
  { keys: 1, writes: true },
  `
redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
return redis.call('HGET', KEYS[1], ARGV[1])
`,
);

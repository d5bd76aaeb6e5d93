/**
 * The scripts of built-in accounts (AccountStore in core's store/accounts.ts). All of
 * them live in the `{accounts}` slot: `<base>:n:<username>` is the account,
 * `<base>:s:<subject>` the username of a subject's account, and `<base>:names` every
 * username in one sorted set of one score, so it lists in byte order (as SQL's BINARY).
 */
import { luaScript } from "./script.js";

/**
 * KEYS: the account, the subject's pointer, the names. ARGV: username, subject id,
 * createdAt, '1' when there is a password hash, the hash. Nil when the username is
 * taken or the subject has an account: both are claimed in one script.
 */
export const createAccount = luaScript(
  "prolongCreateAccount",
  { keys: 3, writes: true },
  `
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then
  return false
end
redis.call('HSET', KEYS[1], 'subjectId', ARGV[2], 'username', ARGV[1], 'createdAt', ARGV[3],
  'updatedAt', ARGV[3])
if ARGV[4] == '1' then
  redis.call('HSET', KEYS[1], 'passwordHash', ARGV[5])
end
redis.call('SET', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], 0, ARGV[1])
return redis.call('HGETALL', KEYS[1])
`,
);

/** KEYS: the subject's pointer. ARGV: base. The subject's account, or nil. */
export const findAccountBySubject = luaScript(
  "prolongFindAccountBySubject",
  { keys: 1, writes: false },
  `
local name = redis.call('GET', KEYS[1])
if not name then
  return false
end
return redis.call('HGETALL', ARGV[1] .. ':n:' .. name)
`,
);

/** KEYS: the names. ARGV: base, lower bound ('-', or '(' and the last username seen), limit. */
export const listAccounts = luaScript(
  "prolongListAccounts",
  { keys: 1, writes: false },
  `
local out = {}
for _, name in ipairs(redis.call('ZRANGEBYLEX', KEYS[1], ARGV[2], '+', 'LIMIT', 0, tonumber(ARGV[3]))) do
  out[#out + 1] = redis.call('HGETALL', ARGV[1] .. ':n:' .. name)
end
return out
`,
);

/**
 * KEYS: the subject's pointer. ARGV: base, now, '1' to change the password hash, '1'
 * when there is a new hash, the hash. The changed account, or nil when there is none.
 */
export const updateAccount = luaScript(
  "prolongUpdateAccount",
  { keys: 1, writes: true },
  `
local name = redis.call('GET', KEYS[1])
if not name then
  return false
end
local key = ARGV[1] .. ':n:' .. name
redis.call('HSET', key, 'updatedAt', ARGV[2])
if ARGV[3] == '1' then
  if ARGV[4] == '1' then
    redis.call('HSET', key, 'passwordHash', ARGV[5])
  else
    redis.call('HDEL', key, 'passwordHash')
  end
end
return redis.call('HGETALL', key)
`,
);

/**
 * The scripts of the sessions concern: subjects, sessions, and the revocation changes
 * they append. Every script stays inside one shard (keyspace.ts): it is handed the
 * shard's base key (`<prefix>{shardN}`) and builds the shard's other keys from it with
 * the suffixes `:u:` (subject), `:x:` (a subject's session index), `:s:` (session),
 * `:ends` (purge index) and `:feed` (changelog stream).
 *
 * Times arrive as decimal strings of the caller's clock (the store contract: stores never
 * read a clock). Strings are ordered byte by byte (`precedes`), never with Lua's `<`,
 * which follows the server's locale.
 */
import { COMMON, luaScript } from "./script.js";

/** Helpers of the scripts that write sessions or append changes. */
const SESSIONS = `
-- a < b comparing bytes, as sorted sets order members of one score (and as the store
-- contract orders session ids: code units, which are bytes for ASCII ids).
local function precedes(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then
      return x < y
    end
  end
  return #a < #b
end

-- When a session ends if nothing else happens: its idle deadline, or its absolute one
-- when that comes first (sessionEndsAt in core's session-rules.ts).
local function ends_at(s)
  local e = tonumber(s.idleExpiresAt)
  if s.absoluteExpiresAt then
    e = math.min(e, tonumber(s.absoluteExpiresAt))
  end
  return e
end

-- Appends one change to a changelog stream. The entry id is '<at>-<n>', or continues
-- from the stream's last id when 'at' runs behind it (a server whose clock lags, a
-- revocation dated earlier): ids only grow, so cursor order is commit order, and an
-- id is never below its entry's 'at', so readers may seek to 'since' and purge may trim
-- by id. The stream keeps its last id when purge empties it, so old cursors stay valid.
local function append(feed, at, ...)
  local id = redis.pcall('XADD', feed, at .. '-*', ...)
  if type(id) == 'table' and id.err then
    local info = redis.call('XINFO', 'STREAM', feed)
    local last = '0-0'
    for i = 1, #info, 2 do
      if info[i] == 'last-generated-id' then
        last = info[i + 1]
      end
    end
    id = redis.call('XADD', feed, string.match(last, '^%d+') .. '-*', ...)
  end
  return id
end

local function append_revoked(base, s)
  append(base .. ':feed', s.revokedAt, 'kind', 'revoked', 'sessionId', s.id,
    'subjectId', s.subjectId, 'at', s.revokedAt)
end

-- After every write to a session: its score in the purge index, and its expiry.
-- Purge takes a session whose end is at or before its cut-off, or that was revoked
-- before it: the score is the first cut-off that takes it. Redis deletes the session
-- 'retention' ms after it ended or was revoked, by the caller's clock: the TTL is
-- relative (PEXPIRE, never PEXPIREAT), as Redis's own clock may disagree with the
-- caller's. The subject's session index lives at least as long as its longest session.
local function settle(base, s, now, retention)
  local ends = ends_at(s)
  local purge_at, gone = ends, ends
  if s.revokedAt then
    local revoked = tonumber(s.revokedAt)
    purge_at = math.min(ends, revoked + 1)
    gone = math.min(ends, revoked)
  end
  redis.call('ZADD', base .. ':ends', int(purge_at), s.id)
  local ttl = math.max(gone - now, 0) + retention
  redis.call('PEXPIRE', base .. ':s:' .. s.id, int(ttl))
  local index = base .. ':x:' .. s.subjectId
  if redis.call('PTTL', index) < ttl then
    redis.call('PEXPIRE', index, int(ttl))
  end
end

-- The session a write changed, read back: the stored fields as returned, and as a table.
local function reread(key)
  local flat = redis.call('HGETALL', key)
  return flat, record(flat)
end
`;

/** KEYS: subject. ARGV: id, now. The subject, created first with defaults if missing. */
export const ensureSubject = luaScript(
  "prolongEnsureSubject",
  { keys: 1, writes: true },
  `
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'id', ARGV[1], 'disabled', '0', 'tokenVersion', '0',
    'claims', '{}', 'createdAt', ARGV[2], 'updatedAt', ARGV[2])
end
return redis.call('HGETALL', KEYS[1])
`,
);

/**
 * KEYS: a hash. ARGV: updatedAt, n, then n field/value pairs to set, then fields to
 * delete (null values). A hash that exists, patched; nil when there is none.
 */
export const patchHash = luaScript(
  "prolongPatchHash",
  { keys: 1, writes: true },
  `
if redis.call('EXISTS', KEYS[1]) == 0 then
  return false
end
local n = tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[1], unpack(ARGV, 3, 2 + 2 * n))
for i = 3 + 2 * n, #ARGV do
  redis.call('HDEL', KEYS[1], ARGV[i])
end
return redis.call('HGETALL', KEYS[1])
`,
);

/** KEYS: subject, feed. ARGV: now. The subject with its version bumped and the change appended. */
export const bumpTokenVersion = luaScript(
  "prolongBumpTokenVersion",
  { keys: 2, writes: true },
  COMMON,
  SESSIONS,
  `
if redis.call('EXISTS', KEYS[1]) == 0 then
  return false
end
local version = redis.call('HINCRBY', KEYS[1], 'tokenVersion', 1)
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[1])
append(KEYS[2], ARGV[1], 'kind', 'version', 'subjectId', redis.call('HGET', KEYS[1], 'id'),
  'version', version, 'at', ARGV[1])
return redis.call('HGETALL', KEYS[1])
`,
);

/**
 * KEYS: session, its subject's index, ends. ARGV: base, now (its last activity),
 * retention, createdAt, then the session's field/value pairs.
 */
export const createSession = luaScript(
  "prolongCreateSession",
  { keys: 3, writes: true },
  COMMON,
  SESSIONS,
  `
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
local _, s = reread(KEYS[1])
redis.call('ZADD', KEYS[2], ARGV[4], s.id)
settle(ARGV[1], s, tonumber(ARGV[2]), tonumber(ARGV[3]))
return 1
`,
);

/**
 * createSession with a SessionLimit (core's store/sessions.ts; planSessionLimit in
 * session-rules.ts is the reference). KEYS: session, its subject's index, ends. ARGV:
 * base, now (its last activity), retention, createdAt, max, onLimit, the number n of
 * the limit's client ids, those ids, then the session's field/value pairs. In this one
 * script, so racing sign-ins on any instance are counted one after another: the
 * subject's own sessions (no actor) of those clients, live at createdAt, found through
 * the subject's index; at max, 'refuse' writes nothing and answers {'refused', count},
 * 'evict' revokes the least recently active (ties by id) with their changes appended,
 * then stores the session as createSession does and answers {'created', evicted ids}.
 */
export const createLimitedSession = luaScript(
  "prolongCreateLimitedSession",
  { keys: 3, writes: true },
  COMMON,
  SESSIONS,
  `
local base = ARGV[1]
local created = tonumber(ARGV[4])
local max = tonumber(ARGV[5])
local n = tonumber(ARGV[7])
local clients = {}
for i = 8, 7 + n do
  clients[ARGV[i]] = true
end
local counted = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  local flat = redis.call('HGETALL', base .. ':s:' .. id)
  if #flat > 0 then
    local s = record(flat)
    if not s.actor and clients[s.clientId] and not s.revokedAt and created < ends_at(s) then
      counted[#counted + 1] = s
    end
  end
end
if #counted >= max and ARGV[6] == 'refuse' then
  return {'refused', #counted}
end
local evicted = {}
if #counted >= max then
  table.sort(counted, function(a, b)
    local x, y = tonumber(a.lastActiveAt), tonumber(b.lastActiveAt)
    if x ~= y then
      return x < y
    end
    return precedes(a.id, b.id)
  end)
  for i = 1, #counted - max + 1 do
    local key = base .. ':s:' .. counted[i].id
    redis.call('HSET', key, 'revokedAt', ARGV[4], 'revokedReason', 'evicted')
    local _, s = reread(key)
    append_revoked(base, s)
    settle(base, s, created, tonumber(ARGV[3]))
    evicted[#evicted + 1] = s.id
  end
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 8 + n))
local _, s = reread(KEYS[1])
redis.call('ZADD', KEYS[2], ARGV[4], s.id)
settle(base, s, tonumber(ARGV[2]), tonumber(ARGV[3]))
return {'created', evicted}
`,
);

/**
 * KEYS: session. ARGV: now, authTime, then for acr and for amr in turn: '0' to keep it,
 * '1' to set it, '2' to clear it, and the value to set ('' otherwise). A step-up (core's planStepUp): on a session live at now, authTime
 * becomes the later of the two, acr and amr are set or cleared as asked; deadlines are
 * not touched. The session afterwards; nil when missing, revoked or ended.
 */
export const stepUp = luaScript(
  "prolongStepUp",
  { keys: 1, writes: true },
  COMMON,
  SESSIONS,
  `
local flat = redis.call('HGETALL', KEYS[1])
if #flat == 0 then
  return false
end
local s = record(flat)
if s.revokedAt or tonumber(ARGV[1]) >= ends_at(s) then
  return false
end
if tonumber(ARGV[2]) > tonumber(s.authTime) then
  redis.call('HSET', KEYS[1], 'authTime', ARGV[2])
end
for i, field in ipairs({'acr', 'amr'}) do
  local mode = ARGV[1 + 2 * i]
  if mode == '1' then
    redis.call('HSET', KEYS[1], field, ARGV[2 + 2 * i])
  elseif mode == '2' then
    redis.call('HDEL', KEYS[1], field)
  end
end
return redis.call('HGETALL', KEYS[1])
`,
);

/** KEYS: session. ARGV: base. The session and its subject; nil when either is missing. */
export const readSession = luaScript(
  "prolongReadSession",
  { keys: 1, writes: false },
  COMMON,
  `
local flat = redis.call('HGETALL', KEYS[1])
if #flat == 0 then
  return false
end
local subject = redis.call('HGETALL', ARGV[1] .. ':u:' .. record(flat).subjectId)
if #subject == 0 then
  return false
end
return {flat, subject}
`,
);

/**
 * The refresh step (RotateOutcome in core's store/sessions.ts; planRotation in
 * session-rules.ts is the reference, and this is the same order of checks), with the
 * session's grant budget checked first and counted last (planGrant, spendsGrant and
 * countGrant there) in the fields `grantCount` and `grantResetAt` of the session's hash.
 * KEYS: session. ARGV: base, clientId, generation, presented hash, successor hash, now,
 * graceMs, now + idleTimeoutMs, retention, budget max ('' for no budget), budget windowMs,
 * '1' when a DPoP proof came and '0' otherwise, its key's thumbprint, '1' when a DBSC
 * bound cookie came and '0' otherwise.
 * Returns {status}, {'limited', resetAt} or {status, session, subject}.
 * Hashes compared with plain equality, as planRotation explains.
 */
export const rotate = luaScript(
  "prolongRotate",
  { keys: 1, writes: true },
  COMMON,
  SESSIONS,
  `
local base = ARGV[1]
local flat = redis.call('HGETALL', KEYS[1])
if #flat == 0 then
  return {'unknown'}
end
local s = record(flat)
local now = tonumber(ARGV[6])
local budget = ARGV[10] ~= ''
local running = s.grantResetAt and now < tonumber(s.grantResetAt)
if budget and running and tonumber(s.grantCount) >= tonumber(ARGV[10]) then
  return {'limited', s.grantResetAt}
end

-- The decision, then its answer; every outcome but a replay counts one grant.
local function decide()
  local subject = redis.call('HGETALL', base .. ':u:' .. s.subjectId)
  -- RFC 6749 section 6: a refresh token is bound to its client; another client's
  -- presentation says nothing about the session and touches nothing but its budget.
  if #subject == 0 or s.clientId ~= ARGV[2] then
    return {'unknown'}
  end
  if s.revokedAt then
    return {'revoked', flat, subject}
  end
  if now >= ends_at(s) then
    return {'expired', flat, subject}
  end
  -- RFC 9449 section 5: a token bound to a DPoP key shown without a proof of that key
  -- was stolen. The session is revoked and its change appended in this same script.
  if s.dpopJkt and not (ARGV[12] == '1' and ARGV[13] == s.dpopJkt) then
    redis.call('HSET', KEYS[1], 'revokedAt', ARGV[6], 'revokedReason', 'key_mismatch')
    flat, s = reread(KEYS[1])
    append_revoked(base, s)
    settle(base, s, now, tonumber(ARGV[9]))
    return {'mismatched', flat, subject}
  end
  -- DBSC: without the bound cookie, refused and nothing written (our failure or the
  -- browser's must sign no one out).
  if s.deviceKey and ARGV[14] ~= '1' then
    return {'unbound'}
  end
  local generation = tonumber(s.generation)
  local presented = tonumber(ARGV[3])
  if presented == generation and ARGV[4] == s.currentHash then
    local idle = ARGV[8]
    if s.absoluteExpiresAt and tonumber(s.absoluteExpiresAt) < tonumber(idle) then
      idle = s.absoluteExpiresAt
    end
    redis.call('HSET', KEYS[1], 'previousHash', s.currentHash, 'currentHash', ARGV[5],
      'generation', int(generation + 1), 'rotatedAt', ARGV[6], 'lastActiveAt', ARGV[6],
      'idleExpiresAt', idle)
    flat, s = reread(KEYS[1])
    settle(base, s, now, tonumber(ARGV[9]))
    return {'rotated', flat, subject}
  end
  -- The previous token inside the grace window gets the current one again; once the
  -- successor has been used, the previous token is two generations old: a straggler.
  if presented == generation - 1 and s.previousHash and s.rotatedAt
      and now - tonumber(s.rotatedAt) <= tonumber(ARGV[7]) and ARGV[4] == s.previousHash then
    return {'replayed', flat, subject}
  end
  -- A straggler (docs/protocol.md): two generations behind, inside the grace window of the
  -- latest rotation. Nothing written; no hash of it is kept, the engine checked it.
  if presented == generation - 2 and s.rotatedAt
      and now - tonumber(s.rotatedAt) <= tonumber(ARGV[7]) then
    return {'overtaken', flat, subject}
  end
  -- An older generation of an authenticated token: a stolen token replayed. The session
  -- is revoked and its change appended in this same script.
  if presented < generation then
    redis.call('HSET', KEYS[1], 'revokedAt', ARGV[6], 'revokedReason', 'reuse')
    flat, s = reread(KEYS[1])
    append_revoked(base, s)
    settle(base, s, now, tonumber(ARGV[9]))
    return {'reused', flat, subject}
  end
  return {'unknown'}
end

local answer = decide()
if budget and answer[1] ~= 'replayed' then
  if running then
    redis.call('HINCRBY', KEYS[1], 'grantCount', 1)
  else
    redis.call('HSET', KEYS[1], 'grantCount', '1', 'grantResetAt', int(now + tonumber(ARGV[11])))
  end
end
return answer
`,
);

/**
 * KEYS: session. ARGV: base, now, now + idleTimeoutMs, retention, budget max ('' for no
 * budget), budget windowMs. A live session with its activity recorded (and one grant
 * counted under a budget); nil when missing, revoked or expired; {'limited', resetAt}
 * when the budget's running window is spent, with nothing written (rotate's rules).
 */
export const touchSession = luaScript(
  "prolongTouchSession",
  { keys: 1, writes: true },
  COMMON,
  SESSIONS,
  `
local flat = redis.call('HGETALL', KEYS[1])
if #flat == 0 then
  return false
end
local s = record(flat)
local now = tonumber(ARGV[2])
local budget = ARGV[5] ~= ''
local running = s.grantResetAt and now < tonumber(s.grantResetAt)
if budget and running and tonumber(s.grantCount) >= tonumber(ARGV[5]) then
  return {'limited', s.grantResetAt}
end
if s.revokedAt or now >= ends_at(s) then
  return false
end
local idle = ARGV[3]
if s.absoluteExpiresAt and tonumber(s.absoluteExpiresAt) < tonumber(idle) then
  idle = s.absoluteExpiresAt
end
redis.call('HSET', KEYS[1], 'lastActiveAt', ARGV[2], 'idleExpiresAt', idle)
if budget then
  if running then
    redis.call('HINCRBY', KEYS[1], 'grantCount', 1)
  else
    redis.call('HSET', KEYS[1], 'grantCount', '1', 'grantResetAt', int(now + tonumber(ARGV[6])))
  end
end
flat, s = reread(KEYS[1])
settle(ARGV[1], s, now, tonumber(ARGV[4]))
return flat
`,
);

/**
 * KEYS: session. ARGV: now. DBSC registration (registerDeviceKey in core's
 * store/sessions.ts): 'missing' for a session missing, revoked or ended at 'now',
 * 'taken' for one that has a device key, else the key set and 'registered'.
 */
export const registerDeviceKey = luaScript(
  "prolongRegisterDeviceKey",
  { keys: 1, writes: true },
  COMMON,
  SESSIONS,
  `
local flat = redis.call('HGETALL', KEYS[1])
if #flat == 0 then
  return 'missing'
end
local s = record(flat)
if s.revokedAt or tonumber(ARGV[1]) >= ends_at(s) then
  return 'missing'
end
if s.deviceKey then
  return 'taken'
end
redis.call('HSET', KEYS[1], 'deviceKey', ARGV[2])
return 'registered'
`,
);

/** KEYS: session. ARGV: device name. The renamed session; nil when missing or revoked. */
export const renameSession = luaScript(
  "prolongRenameSession",
  { keys: 1, writes: true },
  `
if redis.call('HEXISTS', KEYS[1], 'id') == 0 or redis.call('HEXISTS', KEYS[1], 'revokedAt') == 1 then
  return false
end
redis.call('HSET', KEYS[1], 'deviceName', ARGV[1])
return redis.call('HGETALL', KEYS[1])
`,
);

/**
 * KEYS: session. ARGV: base, now, reason, retention. The session revoked, with its
 * change appended in the same script; nil (and nothing appended) when it is missing or
 * revoked already.
 */
export const revokeSession = luaScript(
  "prolongRevokeSession",
  { keys: 1, writes: true },
  COMMON,
  SESSIONS,
  `
if redis.call('HEXISTS', KEYS[1], 'id') == 0 or redis.call('HEXISTS', KEYS[1], 'revokedAt') == 1 then
  return false
end
redis.call('HSET', KEYS[1], 'revokedAt', ARGV[2], 'revokedReason', ARGV[3])
local flat, s = reread(KEYS[1])
append_revoked(ARGV[1], s)
settle(ARGV[1], s, tonumber(ARGV[2]), tonumber(ARGV[4]))
return flat
`,
);

/**
 * KEYS: the subject's session index. ARGV: base, now, reason, retention, '1' when a
 * session is spared and '0' otherwise, the spared session's id. Revokes every unrevoked
 * session of the subject but the spared one, appending one change each, in the order
 * returned.
 */
export const revokeSubjectSessions = luaScript(
  "prolongRevokeSubjectSessions",
  { keys: 1, writes: true },
  COMMON,
  SESSIONS,
  `
local base = ARGV[1]
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if not (ARGV[5] == '1' and id == ARGV[6]) then
    local key = base .. ':s:' .. id
    if redis.call('HEXISTS', key, 'id') == 1 and redis.call('HEXISTS', key, 'revokedAt') == 0 then
      redis.call('HSET', key, 'revokedAt', ARGV[2], 'revokedReason', ARGV[3])
      local flat, s = reread(key)
      append_revoked(base, s)
      settle(base, s, tonumber(ARGV[2]), tonumber(ARGV[4]))
      out[#out + 1] = flat
    end
  end
end
return out
`,
);

/**
 * KEYS: the subject's session index (score createdAt, member the session id). ARGV:
 * base, now, '1' to include ended sessions, '1' to keep only one client's, that client,
 * '1' to start after a session, its createdAt, its id, the limit (-1 for none). Newest
 * first: the index in reverse, which orders one score's members by id, greatest first,
 * so a page boundary (createdAt, id) stands at exactly one place.
 */
export const listSessions = luaScript(
  "prolongListSessions",
  { keys: 1, writes: false },
  COMMON,
  SESSIONS,
  `
local limit = tonumber(ARGV[9])
local out = {}
if limit == 0 then
  return out
end
local now = tonumber(ARGV[2])
local paged = ARGV[6] == '1'
local after_created, after_id = tonumber(ARGV[7]), ARGV[8]
local top = '+inf'
if paged then
  top = ARGV[7]
end
local offset = 0
while true do
  local batch = redis.call('ZREVRANGEBYSCORE', KEYS[1], top, '-inf', 'WITHSCORES', 'LIMIT', offset, 100)
  for i = 1, #batch, 2 do
    local id = batch[i]
    if not paged or tonumber(batch[i + 1]) < after_created or precedes(id, after_id) then
      local flat = redis.call('HGETALL', ARGV[1] .. ':s:' .. id)
      -- A session Redis expired is skipped; purge removes it from the index.
      if #flat > 0 then
        local s = record(flat)
        local live = not s.revokedAt and now < ends_at(s)
        if (ARGV[3] == '1' or live) and (ARGV[4] == '0' or s.clientId == ARGV[5]) then
          out[#out + 1] = flat
          if #out == limit then
            return out
          end
        end
      end
    end
  end
  if #batch < 200 then
    return out
  end
  offset = offset + 100
end
`,
);

/**
 * KEYS: ends. ARGV: base, cut-off, chunk. Deletes up to 'chunk' sessions of the shard
 * that purge may take at the cut-off (the score settle gave them), with their index
 * members. Returns {sessions deleted, ids taken off the purge index}: the caller deletes
 * their pointers, which live in other slots.
 */
export const purgeSessions = luaScript(
  "prolongPurgeSessions",
  { keys: 1, writes: true },
  COMMON,
  `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
local deleted = 0
for _, id in ipairs(ids) do
  local key = ARGV[1] .. ':s:' .. id
  local flat = redis.call('HGETALL', key)
  if #flat > 0 then
    local s = record(flat)
    redis.call('ZREM', ARGV[1] .. ':x:' .. s.subjectId, id)
    redis.call('DEL', key)
    deleted = deleted + 1
  end
  redis.call('ZREM', KEYS[1], id)
end
return {deleted, ids}
`,
);

/**
 * One shard's changelog after a cursor (RevocationRead in core's store/sessions.ts).
 * KEYS: feed. ARGV: the id read up to ('0-0' for the start), since ('' for none),
 * limit. Returns {position, entries}: the id every entry returned follows (the cursor's,
 * or the last entry stepped over for being older than 'since'), then the entries after
 * it in id order, each {id, fields, 1 when its 'at' is at or after 'since' else 0},
 * up to the one that makes 'limit' of those kept.
 */
export const readFeed = luaScript(
  "prolongReadFeed",
  { keys: 1, writes: false },
  COMMON,
  `
local position = ARGV[1]
local since = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
if since and since > 0 then
  -- No id is below its entry's 'at', so every entry before '<since>-0' is older than
  -- 'since': step over them to the last one without reading them.
  local seek = int(since) .. '-0'
  local skipped = redis.call('XREVRANGE', KEYS[1], '(' .. seek, '(' .. position, 'COUNT', 1)
  if #skipped > 0 then
    position = skipped[1][1]
  end
end
local out = {}
local kept = 0
local start = '(' .. position
while true do
  local entries = redis.call('XRANGE', KEYS[1], start, '+', 'COUNT', limit)
  for _, entry in ipairs(entries) do
    local keep = 1
    if since and tonumber(record(entry[2]).at) < since then
      keep = 0
    end
    out[#out + 1] = {entry[1], entry[2], keep}
    kept = kept + keep
    if kept == limit then
      return {position, out}
    end
  end
  if #entries < limit then
    return {position, out}
  end
  start = '(' .. entries[#entries][1]
end
`,
);

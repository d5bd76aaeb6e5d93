/**
 * The scripts of the security-event log (AuditLog in core's store/audit.ts). All of
 * them live in the `{audit}` slot. `<base>:events` maps each event's position to its
 * JSON; `<base>:by:all`, `<base>:by:subject:<id>`, `<base>:by:session:<id>` and
 * `<base>:by:type:<type>` are sorted sets of one score whose members are positions,
 * '<at, 16 digits>:<arrival number, 16 digits>': byte order is time order, events of one
 * instant in arrival order, so a page cursor stands at exactly one member.
 */
import { luaScript } from "./script.js";

/**
 * KEYS: the arrival counter, the events, the 'all' index. ARGV: base, at (16 digits),
 * the event's JSON, '1' and a subject id or '0' and '', the same for a session id, the
 * type. Returns the event's position.
 */
export const recordEvent = luaScript(
  "prolongRecordEvent",
  { keys: 3, writes: true },
  `
local member = ARGV[2] .. ':' .. string.format('%016d', redis.call('INCR', KEYS[1]))
redis.call('HSET', KEYS[2], member, ARGV[3])
redis.call('ZADD', KEYS[3], 0, member)
if ARGV[4] == '1' then
  redis.call('ZADD', ARGV[1] .. ':by:subject:' .. ARGV[5], 0, member)
end
if ARGV[6] == '1' then
  redis.call('ZADD', ARGV[1] .. ':by:session:' .. ARGV[7], 0, member)
end
redis.call('ZADD', ARGV[1] .. ':by:type:' .. ARGV[8], 0, member)
return member
`,
);

/**
 * KEYS: the index to walk (the narrowest filter's), the events. ARGV: the exclusive
 * upper bound ('+', or '(' and a position), how many to return, then the indexes of the
 * other filters, each of which an event must be in. Returns position, JSON, position,
 * JSON, ... newest first.
 */
export const listEvents = luaScript(
  "prolongListEvents",
  { keys: 2, writes: false },
  `
local want = tonumber(ARGV[2])
local out = {}
local bound = ARGV[1]
while true do
  local members = redis.call('ZREVRANGEBYLEX', KEYS[1], bound, '-', 'LIMIT', 0, 200)
  for _, member in ipairs(members) do
    local matches = true
    for i = 3, #ARGV do
      if not redis.call('ZSCORE', ARGV[i], member) then
        matches = false
        break
      end
    end
    if matches then
      out[#out + 1] = member
      out[#out + 1] = redis.call('HGET', KEYS[2], member)
      if #out == 2 * want then
        return out
      end
    end
  end
  if #members < 200 then
    return out
  end
  bound = '(' .. members[#members]
end
`,
);

/**
 * KEYS: the events, the 'all' index. ARGV: base, the exclusive upper bound ('(' and the
 * cut-off's 16 digits), chunk. Deletes up to 'chunk' events older than the cut-off from
 * the log and from every index; returns how many.
 */
export const purgeEvents = luaScript(
  "prolongPurgeEvents",
  { keys: 2, writes: true },
  `
local members = redis.call('ZRANGEBYLEX', KEYS[2], '-', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
for _, member in ipairs(members) do
  local json = redis.call('HGET', KEYS[1], member)
  if json then
    local event = cjson.decode(json)
    if type(event.subjectId) == 'string' then
      redis.call('ZREM', ARGV[1] .. ':by:subject:' .. event.subjectId, member)
    end
    if type(event.sessionId) == 'string' then
      redis.call('ZREM', ARGV[1] .. ':by:session:' .. event.sessionId, member)
    end
    redis.call('ZREM', ARGV[1] .. ':by:type:' .. event.type, member)
    redis.call('HDEL', KEYS[1], member)
  end
  redis.call('ZREM', KEYS[2], member)
end
return #members
`,
);

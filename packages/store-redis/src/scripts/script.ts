/**
 * A Lua script the store runs with EVALSHA (ioredis `defineCommand`, which sends the
 * script itself with EVAL once when the server does not know it yet, after a restart say).
 * Redis runs a script alone, start to end, so each one is an atomic operation.
 */
export interface LuaScript {
  /** The command name ioredis defines for it; unique among the store's scripts. */
  readonly name: string;
  /** How many of the arguments are keys (KEYS); the rest are ARGV. */
  readonly keys: number;
  readonly lua: string;
}

/**
 * A script with a Redis 7 `#!lua` header, which changes what the server checks before
 * it runs a script:
 *
 * - a script that writes is refused before it starts whenever writes are refused (out
 *   of memory, `min-replicas-to-write` unmet, a replica), so an outage never leaves an
 *   operation half done; a read-only one says `no-writes` and keeps running then;
 * - on a Cluster, a script that touches a key outside the slot of its first key fails
 *   instead of running across slots (keys it builds from others are checked too).
 *
 * `parts` are joined in order: shared helpers first, then the body.
 */
export function luaScript(
  name: string,
  options: { keys: number; writes: boolean },
  ...parts: string[]
): LuaScript {
  const header = options.writes ? "#!lua" : "#!lua flags=no-writes";
  return { name, keys: options.keys, lua: [header, ...parts].join("\n") };
}

/** Helpers every script may start with. */
export const COMMON = `
-- Whole numbers as Redis stores them: '%d' never switches to an exponent, as tostring
-- does past 14 digits. Times are ms since the epoch; Lua's doubles hold them exactly.
local function int(x)
  return string.format('%d', x)
end

-- A hash as HGETALL returns it (field, value, field, value, ...) as a table.
local function record(flat)
  local t = {}
  for i = 1, #flat, 2 do
    t[flat[i]] = flat[i + 1]
  end
  return t
end
`;

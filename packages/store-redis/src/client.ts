import { Redis } from "ioredis";
import type { ResolvedOptions } from "./options.js";
import type { LuaScript } from "./scripts/script.js";
import { classifyFailure } from "./unavailable.js";

/** Longest wait between two reconnection attempts, in ms. */
const MAX_RECONNECT_DELAY = 1000;

/**
 * A connection set up to fail fast during an outage and to recover by itself after:
 *
 * - `commandTimeout`: no command waits longer for its reply, queued or sent;
 * - `maxRetriesPerRequest: 0`: when the connection drops, the commands waiting on it
 *   fail at once, and commands issued while reconnecting fail at the next failed
 *   attempt, instead of piling up until Redis is back;
 * - `autoResendUnfulfilledCommands: false`: a command that was sent but not answered
 *   is never sent again after a reconnect, so no script runs twice (a token version
 *   bumped twice, a revocation answered "already revoked");
 * - the offline queue stays on, so commands issued before the first connection is
 *   ready wait for it (bounded by the timeout) instead of failing;
 * - reconnection with backoff (100 ms, doubling, at most 1 s), forever.
 *
 * `commandTimeout: null` is for the connection that blocks on XREAD (watch.ts).
 */
export function connect(
  options: Pick<ResolvedOptions, "url">,
  commandTimeout: number | null,
  name: string,
): Redis {
  const redis = new Redis(options.url, {
    ...(commandTimeout === null ? {} : { commandTimeout }),
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    enableOfflineQueue: true,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, MAX_RECONNECT_DELAY),
    connectionName: name,
  });
  // Failures reach callers as rejected commands (store_unavailable); without a listener,
  // ioredis would also print every reconnection error to the console.
  redis.on("error", () => {});
  return redis;
}

/** The store's command connection: scripts by name, and every failure classified. */
export class RedisClient {
  readonly redis: Redis;
  readonly #defined = new Set<string>();

  constructor(redis: Redis) {
    this.redis = redis;
  }

  /** Runs `script` (EVALSHA) with these keys and arguments. */
  async run(script: LuaScript, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    if (keys.length !== script.keys) {
      throw new TypeError(`${script.name} takes ${script.keys} keys, not ${keys.length}`);
    }
    if (!this.#defined.has(script.name)) {
      this.redis.defineCommand(script.name, { numberOfKeys: script.keys, lua: script.lua });
      this.#defined.add(script.name);
    }
    const command = (this.redis as unknown as Record<string, (...args: string[]) => Promise<unknown>>)[
      script.name
    ] as (...args: string[]) => Promise<unknown>;
    return this.call((redis) => command.call(redis, ...keys, ...args));
  }

  /** One plain command (or several sent together), its failures classified. */
  async call<T>(command: (redis: Redis) => Promise<T>): Promise<T> {
    try {
      return await command(this.redis);
    } catch (error) {
      throw classifyFailure(error);
    }
  }
}

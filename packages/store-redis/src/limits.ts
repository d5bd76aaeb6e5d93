import type { RateLimitStore, RateWindow } from "@prolong/core";
import type { RedisClient } from "./client.js";
import { whole } from "./codec.js";
import type { Keyspace } from "./keyspace.js";
import * as lua from "./scripts/limits.lua.js";

/**
 * How long Redis keeps a window past its length (ms). The window's end is stored in it
 * and compared with the caller's clock; the TTL only cleans up, so it may end a little
 * early or late by Redis's clock: forgetting a counter early is allowed, counting in an
 * ended window is not, and never happens.
 */
const CLEANUP_SLACK = 1000;

/**
 * Rate-limit counters on Redis, one key each (`rl:<key>`), so every instance on the
 * server counts against one budget and busy keys spread over a Cluster.
 */
export class RedisRateLimitStore implements RateLimitStore {
  readonly #client: RedisClient;
  readonly #keys: Keyspace;

  constructor(client: RedisClient, keys: Keyspace) {
    this.#client = client;
    this.#keys = keys;
  }

  async peek(key: string, now: number): Promise<RateWindow | null> {
    const [count, resetAt] = await this.#client.call((redis) =>
      redis.hmget(this.#keys.limit(key), "count", "resetAt"),
    );
    if (count === null || count === undefined || resetAt === null || resetAt === undefined) return null;
    return Number(resetAt) > now ? { count: Number(count), resetAt: Number(resetAt) } : null;
  }

  async hit(key: string, windowMs: number, now: number): Promise<RateWindow> {
    const [count, resetAt] = (await this.#client.run(
      lua.hit,
      [this.#keys.limit(key)],
      [whole(now, "now"), whole(windowMs, "windowMs"), String(windowMs + CLEANUP_SLACK)],
    )) as [number, string];
    return { count, resetAt: Number(resetAt) };
  }

  async takeBack(key: string, now: number): Promise<void> {
    await this.#client.run(lua.takeBack, [this.#keys.limit(key)], [whole(now, "now")]);
  }

  /** Windows expire by themselves, so there is nothing to purge. */
  async purge(_before: number): Promise<number> {
    return 0;
  }
}

import type { ReplayStore } from "@prolong/core";
import type { RedisClient } from "./client.js";
import { whole } from "./codec.js";
import type { Keyspace } from "./keyspace.js";
import * as lua from "./scripts/replay.lua.js";

/**
 * How long Redis keeps a claim past its expiry (ms). The expiry is stored in the claim
 * and compared with the caller's clock, as the contract has it; the TTL (relative, so
 * Redis's own clock does not matter) only cleans up, and runs this much longer so a claim
 * is never forgotten while it still refuses its key: that would let a proof be used twice.
 */
const CLEANUP_SLACK = 60_000;

/**
 * Single-use claims on Redis, one key each (`rp:<key>`), so every instance on the server
 * shares them and busy keys spread over a Cluster. A claim is one script, so of racing
 * claims exactly one finds the key free.
 */
export class RedisReplayStore implements ReplayStore {
  readonly #client: RedisClient;
  readonly #keys: Keyspace;

  constructor(client: RedisClient, keys: Keyspace) {
    this.#client = client;
    this.#keys = keys;
  }

  async claim(key: string, expiresAt: number, now: number): Promise<boolean> {
    const ttl = Math.max(expiresAt - now, 0) + CLEANUP_SLACK;
    const claimed = await this.#client.run(
      lua.claim,
      [this.#keys.claim(key)],
      [whole(now, "now"), whole(expiresAt, "expiresAt"), String(ttl)],
    );
    return claimed === 1;
  }

  /** Claims expire by themselves, so there is nothing to purge. */
  async purge(_now: number): Promise<number> {
    return 0;
  }
}

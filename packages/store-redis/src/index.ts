import type {
  AccountStore,
  AuditLog,
  KeyStore,
  RateLimitStore,
  ReplayStore,
  SessionStore,
  Store,
} from "@prolong/core";
import { RedisAccountStore } from "./accounts.js";
import { RedisAuditLog } from "./audit.js";
import { connect, RedisClient } from "./client.js";
import { RedisKeyStore } from "./keys.js";
import { Keyspace } from "./keyspace.js";
import { RedisRateLimitStore } from "./limits.js";
import { type RedisStoreOptions, resolveOptions } from "./options.js";
import { RedisReplayStore } from "./replay.js";
import { RedisSessionStore } from "./sessions.js";
import { RevocationWatch } from "./watch.js";

export type { RedisStoreOptions } from "./options.js";

/**
 * The store on Redis (ioredis): every concern in one Redis server, each operation one
 * atomic script, keys laid out so that each script touches one slot (keyspace.ts). It
 * connects lazily and reconnects by itself; while Redis is unreachable every operation
 * rejects with `store_unavailable` within `commandTimeout`.
 */
export class RedisStore implements Store {
  // Typed by their contracts, and the connections private, so the published types never
  // name the driver's.
  readonly sessions: SessionStore;
  readonly accounts: AccountStore;
  readonly keys: KeyStore;
  readonly audit: AuditLog;
  readonly limits: RateLimitStore;
  readonly replay: ReplayStore;
  readonly #client: RedisClient;
  readonly #watch: RevocationWatch;
  readonly #heartbeat: string;

  constructor(options: RedisStoreOptions) {
    const resolved = resolveOptions(options);
    const keyspace = new Keyspace(resolved.keyPrefix, resolved.shards);
    this.#client = new RedisClient(connect(resolved, resolved.commandTimeout, "prolong"));
    this.#watch = new RevocationWatch(
      () => connect(resolved, null, "prolong-watch"),
      keyspace.allShards().map((base) => keyspace.feed(base)),
    );
    this.#heartbeat = keyspace.heartbeat();
    this.sessions = new RedisSessionStore(this.#client, keyspace, resolved.retention, this.#watch);
    this.accounts = new RedisAccountStore(this.#client, keyspace);
    this.keys = new RedisKeyStore(this.#client, keyspace);
    this.audit = new RedisAuditLog(this.#client, keyspace);
    this.limits = new RedisRateLimitStore(this.#client, keyspace);
    this.replay = new RedisReplayStore(this.#client, keyspace);
  }

  /** A committed write (INCR of the heartbeat key), so readiness fails as soon as writes do. */
  async ping(): Promise<void> {
    await this.#client.call((redis) => redis.incr(this.#heartbeat));
  }

  /** Stops watching, lets commands already sent finish, and closes the connection. */
  async close(): Promise<void> {
    this.#watch.stop();
    const { redis } = this.#client;
    if (redis.status === "end") return;
    try {
      await redis.quit();
    } catch {
      // Unreachable or timed out: there is nothing left to finish.
    } finally {
      redis.disconnect();
    }
  }
}

/** The Redis store at `options.url`; options are checked here (`invalid_config` naming the field). */
export function openRedisStore(options: RedisStoreOptions): RedisStore {
  return new RedisStore(options);
}

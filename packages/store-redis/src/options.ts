import { ProlongError } from "@prolong/core";

// Apart from the driver, so the published types never name ioredis's.
export interface RedisStoreOptions {
  /**
   * Where Redis listens: `redis://[user:password@]host[:port][/db]`, or `rediss://` for TLS.
   * One server (standalone, or the primary a failover endpoint names); see the README on Cluster.
   */
  url: string;
  /** Put before every key, so several deployments (or tests) share one server. Default `"prolong:"`. */
  keyPrefix?: string;
  /**
   * How long one command may take, in ms, before it fails with `store_unavailable`; also
   * bounds how long a command waits while the connection is down. Default 2000.
   */
  commandTimeout?: number;
  /**
   * How long an ended session stays stored after it ended (expired or was revoked), in
   * ms, before Redis deletes it by itself; `purge` deletes it earlier. Keep it at least
   * the engine's purge horizon (30 days by default), so a session the contract still
   * lists is never gone. Default 30 days.
   */
  retention?: number;
  /**
   * How many hash-tag buckets subjects are spread over (each bucket a slot of its own,
   * with its own changelog stream). Fixed for the life of the data: a subject's bucket is
   * derived from its id and this number. Default 16.
   */
  shards?: number;
}

/** The options with every default applied. */
export type ResolvedOptions = Required<RedisStoreOptions>;

const DAY = 86_400_000;

function invalid(field: string, problem: string): ProlongError {
  return new ProlongError("invalid_config", `redis store: ${field}: ${problem}`);
}

function isWholeIn(value: unknown, min: number, max: number): boolean {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= min && value <= max;
}

/**
 * Checks every option and applies the defaults; a bad one is an `invalid_config` error
 * naming it. The URL is never repeated in a message: it may hold a password.
 */
export function resolveOptions(options: RedisStoreOptions): ResolvedOptions {
  const { url, keyPrefix = "prolong:", commandTimeout = 2000, retention = 30 * DAY, shards = 16 } = options;
  let parsed: URL | null = null;
  try {
    parsed = typeof url === "string" ? new URL(url) : null;
  } catch {
    parsed = null;
  }
  if (!parsed || (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") || parsed.hostname === "") {
    throw invalid("url", "must be a redis:// or rediss:// URL with a host");
  }
  if (typeof keyPrefix !== "string" || keyPrefix.length > 64) {
    throw invalid("keyPrefix", "must be a string of at most 64 characters");
  }
  // Braces would make the prefix the hash tag of every key (docs in keyspace.ts).
  if (/[{}\s]/.test(keyPrefix)) throw invalid("keyPrefix", "must not contain braces or whitespace");
  if (!isWholeIn(commandTimeout, 1, 600_000)) {
    throw invalid("commandTimeout", "must be a whole number of ms from 1 to 600000");
  }
  if (!isWholeIn(retention, 60_000, 3650 * DAY)) {
    throw invalid("retention", "must be a whole number of ms from 60000 (a minute) to ten years");
  }
  if (!isWholeIn(shards, 1, 1024)) {
    throw invalid("shards", "must be a whole number from 1 to 1024");
  }
  return { url, keyPrefix, commandTimeout, retention, shards };
}

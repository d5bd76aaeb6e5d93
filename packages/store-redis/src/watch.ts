import type { Redis } from "ioredis";

/** How long one XREAD blocks before it is sent again (ms): bounds how long a dead connection goes unnoticed. */
const BLOCK_MS = 5000;
/** The longest pause between two attempts after a failure (ms). */
const MAX_PAUSE_MS = 2000;

/**
 * `watchRevocations` (core's store/sessions.ts): a dedicated connection blocks on every
 * shard's changelog stream with XREAD BLOCK and wakes the watchers when entries arrive,
 * whichever process appended them. A wake-up is a hint, never the changes themselves:
 * readers read from their own cursor.
 *
 * Each time the connection becomes usable (first start, or after Redis came back) it
 * first reads the streams' last ids, then wakes every watcher, then blocks from those
 * ids: a change committed before the ids were read is found by the read the wake-up
 * causes, one committed after it ends the XREAD. Nothing falls between.
 *
 * The one XREAD names every shard's stream, so it needs them on one server: a Cluster
 * would need one per node (README, "Redis Cluster").
 */
export class RevocationWatch {
  readonly #open: () => Redis;
  readonly #feeds: readonly string[];
  readonly #wakes = new Set<() => void>();
  #redis: Redis | null = null;

  /** `open` makes the connection, without a command timeout: XREAD BLOCK waits on purpose. */
  constructor(open: () => Redis, feeds: readonly string[]) {
    this.#open = open;
    this.#feeds = feeds;
  }

  /** Adds a watcher, starting the connection for the first one; returns what removes it. */
  add(wake: () => void): () => void {
    const entry = () => wake();
    this.#wakes.add(entry);
    if (this.#redis === null) {
      const redis = this.#open();
      this.#redis = redis;
      void this.#loop(redis);
    }
    return () => {
      this.#wakes.delete(entry);
      if (this.#wakes.size === 0) this.stop();
    };
  }

  /** Ends the connection; every watcher is dropped. */
  stop(): void {
    this.#wakes.clear();
    const redis = this.#redis;
    this.#redis = null;
    redis?.disconnect();
  }

  #wake(): void {
    for (const wake of this.#wakes) {
      try {
        wake();
      } catch {
        // One watcher's failure is its own; the others are still told.
      }
    }
  }

  async #loop(redis: Redis): Promise<void> {
    let ids: string[] | null = null;
    let failures = 0;
    while (this.#redis === redis) {
      try {
        if (ids === null) {
          ids = await this.#heads(redis);
          this.#wake();
        }
        const reply = (await redis.xread(
          "COUNT",
          1000,
          "BLOCK",
          BLOCK_MS,
          "STREAMS",
          ...this.#feeds,
          ...ids,
        )) as [stream: string, entries: [id: string, fields: string[]][]][] | null;
        failures = 0;
        if (reply === null) continue;
        for (const [stream, entries] of reply) {
          const last = entries.at(-1);
          const index = this.#feeds.indexOf(stream);
          if (last && index >= 0) ids[index] = last[0];
        }
        this.#wake();
      } catch {
        if (this.#redis !== redis) return;
        // Down or disconnected: start over once it answers again, heads first, then a wake-up.
        ids = null;
        failures += 1;
        await pause(Math.min(100 * 2 ** failures, MAX_PAUSE_MS));
      }
    }
  }

  /** Each stream's last id, or `0-0` for one that has none. */
  async #heads(redis: Redis): Promise<string[]> {
    const last = await Promise.all(this.#feeds.map((feed) => redis.xrevrange(feed, "+", "-", "COUNT", 1)));
    return last.map((entries) => entries[0]?.[0] ?? "0-0");
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => {
    // Unreferenced, so a watcher left running never keeps the process alive.
    setTimeout(resolve, ms).unref();
  });
}

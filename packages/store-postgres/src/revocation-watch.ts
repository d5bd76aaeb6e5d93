import pg from "pg";
import { connectionConfig } from "./database.js";
import type { ResolvedOptions } from "./options.js";

/** The channel `append_revocation` notifies (migrations.ts); the payload is the schema. */
export const REVOCATION_CHANNEL = "prolong_revocations";

/** Reconnection delays after the listening connection is lost: doubling, capped. */
const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5_000;

/**
 * The wake-up side of the revocation changelog: one connection of its own (never one of
 * the pool's, which go back to the pool between statements) that LISTENs while anyone
 * watches. A change appended by any instance on this schema notifies on commit; each
 * watcher is woken then, and also each time the connection is (re)established, because
 * notifications sent while it was down are lost and readers catch up from their cursor.
 * A wake-up is only a hint (store/sessions.ts, watchRevocations): it may come without a
 * change, and a lost one costs latency, never a change.
 */
export class RevocationWatch {
  readonly #options: ResolvedOptions;
  readonly #watchers = new Set<() => void>();
  #client: pg.Client | null = null;
  #retry: ReturnType<typeof setTimeout> | null = null;
  #delay = FIRST_RETRY_MS;
  #closed = false;

  constructor(options: ResolvedOptions) {
    this.#options = options;
  }

  /** Adds a watcher; returns the function that removes it. */
  add(wake: () => void): () => void {
    if (this.#closed) return () => {};
    // Each call gets its own entry, so one function added twice is removed once per call.
    const entry = () => wake();
    this.#watchers.add(entry);
    if (this.#watchers.size === 1) this.#connect();
    return () => {
      this.#watchers.delete(entry);
      if (this.#watchers.size === 0) this.#stop();
    };
  }

  close(): void {
    this.#closed = true;
    this.#watchers.clear();
    this.#stop();
  }

  #wakeAll(): void {
    for (const wake of this.#watchers) {
      try {
        wake();
      } catch {
        // A watcher's failure is its own; the others are still woken.
      }
    }
  }

  #connect(): void {
    const client = new pg.Client({ ...connectionConfig(this.#options), keepAlive: true });
    this.#client = client;
    let lost = false;
    const onLost = () => {
      if (lost || this.#client !== client) return;
      lost = true;
      this.#client = null;
      client.end().catch(() => {});
      this.#scheduleReconnect();
    };
    client.on("error", onLost);
    client.on("end", onLost);
    client.on("notification", (message) => {
      if (message.channel === REVOCATION_CHANNEL && message.payload === this.#options.schema) this.#wakeAll();
    });
    client
      .connect()
      .then(() => client.query(`LISTEN ${REVOCATION_CHANNEL}`))
      .then(() => {
        if (this.#client !== client) return;
        this.#delay = FIRST_RETRY_MS;
        // Whatever was appended before this LISTEN took effect was not announced.
        this.#wakeAll();
      })
      .catch(onLost);
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#watchers.size === 0 || this.#retry) return;
    const delay = this.#delay;
    this.#delay = Math.min(this.#delay * 2, MAX_RETRY_MS);
    this.#retry = setTimeout(() => {
      this.#retry = null;
      if (!this.#closed && this.#watchers.size > 0 && !this.#client) this.#connect();
    }, delay);
    // Retrying must not keep a process alive that has nothing else to do.
    this.#retry.unref();
  }

  #stop(): void {
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = null;
    this.#delay = FIRST_RETRY_MS;
    const client = this.#client;
    this.#client = null;
    client?.end().catch(() => {});
  }
}

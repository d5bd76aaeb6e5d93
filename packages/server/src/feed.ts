import type { ServerResponse } from "node:http";
import type { RevocationBatch, RevocationEntry, SessionEngine } from "@prolong/core";
import {
  type ErrorBody,
  encodeFeedEvent,
  type FeedEvent,
  type FeedRevoked,
  type FeedSnapshot,
  type FeedVersion,
} from "@prolong/protocol";

const HEARTBEAT_MS = 15_000;

export interface RevocationPublisherOptions {
  /**
   * How often the store's changelog is read (ms). Changes made by other processes (the
   * CLI, other instances) reach subscribers within this; a store that wakes its readers
   * (`watchRevocations`) delivers sooner. Default 250.
   */
  pollMs?: number;
  /** Changes read per store call. Default 500. */
  batch?: number;
  /** Told when reading the store fails; the next poll tries again. */
  onError?: (error: unknown) => void;
}

/** Batches one poll reads before it yields, so a long backlog cannot starve requests. */
const MAX_BATCHES_PER_POLL = 20;

const toSeconds = (ms: number) => Math.ceil(ms / 1000);

type Revoked = Extract<RevocationEntry, { kind: "revoked" }>;
type Version = Extract<RevocationEntry, { kind: "version" }>;

/** A changelog entry as the feed states it: `exp` is when it stops mattering, in seconds. */
const revokedEvent = (e: Revoked): FeedRevoked => ({
  sid: e.sessionId,
  sub: e.subjectId,
  exp: toSeconds(e.relevantUntil),
});
const versionEvent = (e: Version): FeedVersion => ({
  sub: e.subjectId,
  ver: e.version,
  exp: toSeconds(e.relevantUntil),
});

/** The media type of the feed's stream (Server-Sent Events). */
export const FEED_CONTENT_TYPE = "text/event-stream; charset=utf-8";

/**
 * The publishing side of the revocation feed (docs/protocol.md): Server-Sent Events to
 * subscribed resource servers, which read them with `RevocationFeed` of `@prolong/verify`.
 * The store's revocation changelog is the source of truth, whichever process wrote to it: once the first subscriber arrives, the feed loads the snapshot and its
 * cursor from the store, then tails the changelog from that cursor and pushes each
 * change to every subscriber. Its own process's revocations travel the same path, so
 * each change is pushed once.
 */
export class RevocationPublisher {
  readonly #engine: SessionEngine;
  readonly #options: Required<Omit<RevocationPublisherOptions, "onError">> &
    Pick<RevocationPublisherOptions, "onError">;
  readonly #clients = new Set<ServerResponse>();
  readonly #heartbeat: NodeJS.Timeout;
  /**
   * The snapshot a new subscriber gets: what is still relevant as of `#cursor`, one
   * entry per revoked session and per subject (the highest version). Updated in the same
   * synchronous step as the cursor and the broadcast, so a subscriber who joins between
   * two steps gets the snapshot at the cursor and then every change after it: none lost,
   * none twice.
   */
  readonly #sessions = new Map<string, Revoked>();
  readonly #versions = new Map<string, Version>();
  #cursor: string | null = null;
  #started: Promise<void> | null = null;
  #poller: NodeJS.Timeout | undefined;
  #unwatch: (() => void) | undefined;
  #polling = false;
  #pollAgain = false;
  #closed = false;

  constructor(engine: SessionEngine, options: RevocationPublisherOptions = {}) {
    this.#engine = engine;
    this.#options = { pollMs: 250, batch: 500, ...options };
    this.#heartbeat = setInterval(() => {
      this.#broadcast(": ping\n\n");
      this.#forgetExpired();
    }, HEARTBEAT_MS);
    this.#heartbeat.unref();
  }

  get size(): number {
    return this.#clients.size;
  }

  /** Takes over a response: headers, the snapshot, then live events until either side closes. */
  async attach(response: ServerResponse): Promise<void> {
    try {
      await this.#start();
    } catch (error) {
      this.#options.onError?.(error);
      // Not a stream yet: the subscriber retries, as after any failed connection.
      response.writeHead(503, { "content-type": "application/json", "cache-control": "no-store" });
      const body: ErrorBody = {
        error: "store_unavailable",
        error_description: "the revocation feed cannot start",
      };
      response.end(JSON.stringify(body));
      return;
    }
    if (this.#closed || response.destroyed) {
      response.end();
      return;
    }
    response.writeHead(200, {
      "content-type": FEED_CONTENT_TYPE,
      "cache-control": "no-store",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    // No await from here on: the snapshot and joining the broadcast happen at one cursor.
    this.#forgetExpired();
    response.write(`retry: 2000\n${encodeFeedEvent({ event: "snapshot", data: this.#snapshot() })}`);
    this.#clients.add(response);
    response.on("close", () => this.#clients.delete(response));
  }

  /** Ends every stream and stops reading the store, so a graceful shutdown is not held open. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#heartbeat);
    clearInterval(this.#poller);
    this.#unwatch?.();
    for (const client of this.#clients) client.end();
    this.#clients.clear();
  }

  /** Loads the snapshot and starts tailing, once; a failed start is retried by the next subscriber. */
  #start(): Promise<void> {
    this.#started ??= this.#load().catch((error: unknown) => {
      this.#started = null;
      throw error;
    });
    return this.#started;
  }

  async #load(): Promise<void> {
    const snapshot = await this.#engine.revocationSnapshot();
    if (this.#closed) return;
    this.#apply(snapshot, false);
    this.#poller = setInterval(() => this.#poll(), this.#options.pollMs);
    this.#poller.unref();
    this.#unwatch = this.#engine.watchRevocations(() => this.#poll()) ?? undefined;
  }

  #poll(): void {
    if (this.#closed || this.#cursor === null) return;
    if (this.#polling) {
      // A wake-up during a read may announce a change the read missed: read once more.
      this.#pollAgain = true;
      return;
    }
    this.#polling = true;
    this.#drain()
      .catch((error: unknown) => this.#options.onError?.(error))
      .finally(() => {
        this.#polling = false;
      });
  }

  async #drain(): Promise<void> {
    do {
      this.#pollAgain = false;
      for (let i = 0; i < MAX_BATCHES_PER_POLL; i++) {
        const batch = await this.#engine.revocationsAfter(this.#cursor as string, this.#options.batch);
        if (this.#closed) return;
        this.#apply(batch, true);
        if (batch.entries.length < this.#options.batch) break;
      }
    } while (this.#pollAgain && !this.#closed);
  }

  /** Records a batch in the window, moves the cursor past it and, when live, pushes it. */
  #apply(batch: RevocationBatch, push: boolean): void {
    for (const entry of batch.entries) {
      if (entry.kind === "revoked") {
        this.#sessions.set(entry.sessionId, entry);
        if (push) this.#send({ event: "revoked", data: revokedEvent(entry) });
      } else {
        if (entry.version >= (this.#versions.get(entry.subjectId)?.version ?? 0))
          this.#versions.set(entry.subjectId, entry);
        if (push) this.#send({ event: "version", data: versionEvent(entry) });
      }
    }
    this.#cursor = batch.cursor;
  }

  #snapshot(): FeedSnapshot {
    return {
      sessions: [...this.#sessions.values()].map(revokedEvent),
      versions: [...this.#versions.values()].map(versionEvent),
      at: Math.floor(this.#engine.now() / 1000),
    };
  }

  /** Entries no unexpired access token can match any more leave the snapshot. */
  #forgetExpired(): void {
    const now = this.#engine.now();
    for (const map of [this.#sessions, this.#versions])
      for (const [key, entry] of map) if (entry.relevantUntil <= now) map.delete(key);
  }

  #send(event: FeedEvent): void {
    this.#broadcast(encodeFeedEvent(event));
  }

  #broadcast(chunk: string): void {
    for (const client of this.#clients) client.write(chunk);
  }
}

import { decodeFeedEvent, type FeedRevoked, type FeedVersion } from "@prolong/protocol";
import { DEFAULT_CLOCK_TOLERANCE } from "./claims.js";

/**
 * How the resource server authenticates to the feed (docs/protocol.md): HTTP Basic as a client,
 * `clientId` defaulting to `resource`, with `PROLONG_RESOURCE_SECRET` (RFC 6749 §2.3.1), or that secret
 * sent as a Bearer token.
 */
export type FeedCredentials = { clientId?: string; secret: string } | { bearer: string };

export interface RevocationFeedOptions {
  /** The server's `revocation_feed_endpoint`. */
  url: string;
  credentials: FeedCredentials;
  /** First reconnect delay; doubles up to `maxBackoffMs`, with jitter. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** No byte for this long (the server pings every 15 s) means the connection is dead. */
  idleTimeoutMs?: number;
  now?: () => number;
  fetch?: typeof fetch;
  random?: () => number;
}

/**
 * Subscribes to the revocation feed (docs/protocol.md) and keeps what a verifier
 * needs: revoked session ids and per-user minimum token versions. Every entry
 * carries the time after which no token it could match is still valid, and is
 * dropped then, so memory stays bounded by recent revocations.
 */
export class RevocationFeed {
  readonly #options: Required<Omit<RevocationFeedOptions, "credentials">> & { credentials: FeedCredentials };
  readonly #sessions = new Map<string, number>();
  readonly #versions = new Map<string, { ver: number; exp: number }>();
  #live = false;
  #closed = false;
  #abort: AbortController | null = null;
  #attempt = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #liveWaiters: (() => void)[] = [];
  #sinceSweep = 0;
  /**
   * Seconds an entry outlives its `exp`: a verifier accepts a token until `exp` plus its
   * clock tolerance, and the token must stay revoked all that time.
   */
  #grace = DEFAULT_CLOCK_TOLERANCE;
  /** Connections made so far; for tests and metrics. */
  connections = 0;

  constructor(options: RevocationFeedOptions) {
    this.#options = {
      minBackoffMs: 250,
      maxBackoffMs: 30_000,
      idleTimeoutMs: 45_000,
      now: Date.now,
      fetch: globalThis.fetch,
      random: Math.random,
      ...options,
    };
  }

  /** True while connected and past the snapshot: the sets are complete. */
  get live(): boolean {
    return this.#live;
  }

  get size(): number {
    return this.#sessions.size + this.#versions.size;
  }

  start(): this {
    void this.#connect();
    return this;
  }

  /** Resolves once the feed is live, or rejects after `timeoutMs`. */
  waitUntilLive(timeoutMs = 10_000): Promise<void> {
    if (this.#live) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("revocation feed did not connect in time")), timeoutMs);
      this.#liveWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Keeps entries `seconds` past their `exp` (the largest tolerance any verifier asked for wins). */
  holdPastExpiry(seconds: number): void {
    if (Number.isFinite(seconds) && seconds > this.#grace) this.#grace = seconds;
  }

  /** Whether a token of this session, user and version has been revoked. */
  isRevoked(claims: { sid: string; sub: string; ver?: number }): boolean {
    const horizon = this.#horizon();
    const sessionUntil = this.#sessions.get(claims.sid);
    if (sessionUntil !== undefined) {
      if (sessionUntil > horizon) return true;
      this.#sessions.delete(claims.sid);
    }
    const version = this.#versions.get(claims.sub);
    if (version !== undefined) {
      if (version.exp > horizon) return (claims.ver ?? 0) < version.ver;
      this.#versions.delete(claims.sub);
    }
    return false;
  }

  /** Entries whose `exp` is at or before this instant (s) match no token a verifier still accepts. */
  #horizon(): number {
    return this.#options.now() / 1000 - this.#grace;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#live = false;
    clearTimeout(this.#retryTimer);
    this.#abort?.abort();
  }

  #authorization(): string {
    const credentials = this.#options.credentials;
    if ("bearer" in credentials) return `Bearer ${credentials.bearer}`;
    // RFC 6749 §2.3.1: both parts are form-urlencoded before they are joined.
    const encode = (s: string) => encodeURIComponent(s).replace(/%20/g, "+");
    const pair = `${encode(credentials.clientId ?? "resource")}:${encode(credentials.secret)}`;
    // Form-urlencoded, so ASCII: `btoa` takes it as it is, on every runtime.
    return `Basic ${btoa(pair)}`;
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    const abort = new AbortController();
    this.#abort = abort;
    let idle: ReturnType<typeof setTimeout> | undefined;
    const touch = () => {
      clearTimeout(idle);
      idle = setTimeout(() => abort.abort(), this.#options.idleTimeoutMs);
    };
    try {
      this.connections += 1;
      touch();
      const response = await this.#options.fetch(this.#options.url, {
        headers: { accept: "text/event-stream", authorization: this.#authorization() },
        signal: abort.signal,
      });
      if (!response.ok || !response.body) throw new Error(`feed answered ${response.status}`);
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        touch();
        // SSE lines may end in CRLF, LF or CR (HTML Living Standard, event stream format).
        buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
        let end = buffer.indexOf("\n\n");
        while (end >= 0) {
          this.#handle(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf("\n\n");
        }
      }
    } catch {
      // Any failure ends in a reconnect below; the verifier sees `live` go false meanwhile.
    } finally {
      clearTimeout(idle);
      this.#live = false;
    }
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#closed) return;
    const base = Math.min(this.#options.maxBackoffMs, this.#options.minBackoffMs * 2 ** this.#attempt);
    this.#attempt += 1;
    // Half the delay is random, so many resource servers do not reconnect in lockstep after an outage.
    const delay = base / 2 + this.#options.random() * (base / 2);
    this.#retryTimer = setTimeout(() => void this.#connect(), delay);
    this.#retryTimer.unref?.();
  }

  #handle(block: string): void {
    // Comments (the server's pings) and anything not of docs/protocol.md decode to null.
    const event = decodeFeedEvent(block);
    if (!event) return;
    if (++this.#sinceSweep >= 256) {
      this.#sinceSweep = 0;
      this.#sweep();
    }
    if (event.event === "snapshot") {
      for (const s of event.data.sessions) this.#addSession(s);
      for (const v of event.data.versions) this.#addVersion(v);
      this.#live = true;
      this.#attempt = 0;
      for (const wake of this.#liveWaiters.splice(0)) wake();
    } else if (event.event === "revoked") {
      this.#addSession(event.data);
    } else {
      this.#addVersion(event.data);
    }
  }

  /** Drops entries whose tokens have all expired, so memory follows recent revocations only. */
  #sweep(): void {
    const horizon = this.#horizon();
    for (const [sid, exp] of this.#sessions) if (exp <= horizon) this.#sessions.delete(sid);
    for (const [sub, v] of this.#versions) if (v.exp <= horizon) this.#versions.delete(sub);
  }

  #addSession(entry: FeedRevoked): void {
    this.#sessions.set(entry.sid, Math.max(entry.exp, this.#sessions.get(entry.sid) ?? 0));
  }

  #addVersion(entry: FeedVersion): void {
    const known = this.#versions.get(entry.sub);
    if (!known || entry.ver >= known.ver) this.#versions.set(entry.sub, { ver: entry.ver, exp: entry.exp });
  }
}

/** Creates and starts a feed subscription. */
export function createRevocationFeed(options: RevocationFeedOptions): RevocationFeed {
  return new RevocationFeed(options).start();
}

import type { ServerResponse } from "node:http";
import type { EngineEvent, SessionEngine } from "@prolong/core";

const HEARTBEAT_MS = 15_000;

const toSeconds = (ms: number) => Math.ceil(ms / 1000);

/**
 * The revocation feed (docs/protocol.md): Server-Sent Events to subscribed resource
 * servers. A snapshot on connect, then each revocation and version bump as it happens.
 */
export class RevocationFeed {
  readonly #engine: SessionEngine;
  readonly #clients = new Set<ServerResponse>();
  readonly #heartbeat: NodeJS.Timeout;
  readonly #unsubscribe: () => void;

  constructor(engine: SessionEngine) {
    this.#engine = engine;
    this.#unsubscribe = engine.subscribe((event) => this.#publish(event));
    this.#heartbeat = setInterval(() => this.#broadcast(": ping\n\n"), HEARTBEAT_MS);
    this.#heartbeat.unref();
  }

  get size(): number {
    return this.#clients.size;
  }

  /** Takes over a response: headers, the snapshot, then live events until either side closes. */
  async attach(response: ServerResponse): Promise<void> {
    response.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    // Join before reading the snapshot, so nothing revoked in between is missed.
    this.#clients.add(response);
    response.on("close", () => this.#clients.delete(response));
    const snapshot = await this.#engine.revocationSnapshot();
    const data = {
      sessions: snapshot.sessions.map((s) => ({
        sid: s.sessionId,
        sub: s.userId,
        exp: toSeconds(s.relevantUntil),
      })),
      versions: snapshot.versions.map((v) => ({
        sub: v.userId,
        ver: v.version,
        exp: toSeconds(v.relevantUntil),
      })),
      at: Math.floor(this.#engine.now() / 1000),
    };
    response.write(`retry: 2000\nevent: snapshot\ndata: ${JSON.stringify(data)}\n\n`);
  }

  #publish(event: EngineEvent): void {
    if (event.type === "session_revoked") {
      const data = { sid: event.sessionId, sub: event.userId, exp: toSeconds(event.relevantUntil) };
      this.#broadcast(`event: revoked\ndata: ${JSON.stringify(data)}\n\n`);
    } else if (event.type === "token_version") {
      const data = { sub: event.userId, ver: event.version, exp: toSeconds(event.relevantUntil) };
      this.#broadcast(`event: version\ndata: ${JSON.stringify(data)}\n\n`);
    }
  }

  #broadcast(chunk: string): void {
    for (const client of this.#clients) client.write(chunk);
  }

  /** Ends every stream, so a graceful shutdown is not held open by subscribers. */
  close(): void {
    clearInterval(this.#heartbeat);
    this.#unsubscribe();
    for (const client of this.#clients) client.end();
    this.#clients.clear();
  }
}

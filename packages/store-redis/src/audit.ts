import {
  type AuditLog,
  type AuditPage,
  type AuditQuery,
  formatEventCursor,
  parseEventCursor,
  type SecurityEvent,
} from "@prolong/core";
import type { RedisClient } from "./client.js";
import { sortable, whole } from "./codec.js";
import type { Keyspace } from "./keyspace.js";
import * as lua from "./scripts/audit.lua.js";

/** Events one purge script deletes at most, so no script holds Redis for long. */
const PURGE_CHUNK = 1000;

/**
 * The security-event log on Redis, in the `{audit}` slot (audit.lua.ts has the layout).
 * A page cursor is the position of the page's last event, written as core's other
 * stores write theirs (`<at>.<arrival number>`), and refused alike when not one.
 */
export class RedisAuditLog implements AuditLog {
  readonly #client: RedisClient;
  readonly #base: string;

  constructor(client: RedisClient, keys: Keyspace) {
    this.#client = client;
    this.#base = keys.audit();
  }

  async record(event: SecurityEvent): Promise<void> {
    const base = this.#base;
    await this.#client.run(
      lua.recordEvent,
      [`${base}:seq`, `${base}:events`, `${base}:by:all`],
      [
        base,
        sortable(event.at, "at"),
        JSON.stringify(event),
        event.subjectId === null ? "0" : "1",
        event.subjectId ?? "",
        event.sessionId === null ? "0" : "1",
        event.sessionId ?? "",
        event.type,
      ],
    );
  }

  async list(query: AuditQuery): Promise<AuditPage> {
    const base = this.#base;
    const after = query.after === undefined ? null : parseEventCursor(query.after);
    // Events are never before the epoch: nothing follows a position before it.
    if (after !== null && after.at < 0) return { events: [], next: null };
    const bound =
      after === null ? "+" : `(${sortable(after.at, "after")}:${String(after.seq).padStart(16, "0")}`;
    // Walk the narrowest filter's index; an event must also be in the other filters'.
    const filters = [
      query.sessionId === undefined ? null : `${base}:by:session:${query.sessionId}`,
      query.subjectId === undefined ? null : `${base}:by:subject:${query.subjectId}`,
      query.type === undefined ? null : `${base}:by:type:${query.type}`,
    ].filter((key): key is string => key !== null);
    const [walk = `${base}:by:all`, ...others] = filters;
    const limit = Math.max(query.limit, 0);
    const found = (await this.#client.run(
      lua.listEvents,
      [walk, `${base}:events`],
      [bound, whole(limit + 1, "limit"), ...others],
    )) as string[];
    const events: SecurityEvent[] = [];
    const positions: string[] = [];
    for (let i = 0; i + 1 < found.length && events.length < limit; i += 2) {
      positions.push(found[i] as string);
      events.push(JSON.parse(found[i + 1] as string) as SecurityEvent);
    }
    // One event past the page says there is a next page, without a count.
    const last = positions.at(-1);
    const next = last !== undefined && found.length / 2 > limit ? cursorOf(last) : null;
    return { events, next };
  }

  async purge(before: number): Promise<number> {
    if (before <= 0) return 0;
    const base = this.#base;
    const bound = `(${sortable(before, "before")}`;
    let purged = 0;
    for (let more = true; more; ) {
      const count = (await this.#client.run(
        lua.purgeEvents,
        [`${base}:events`, `${base}:by:all`],
        [base, bound, String(PURGE_CHUNK)],
      )) as number;
      purged += count;
      more = count === PURGE_CHUNK;
    }
    return purged;
  }
}

/** The page cursor of an event at `position` ('<at, 16 digits>:<arrival, 16 digits>'). */
function cursorOf(position: string): string {
  const [at = "0", seq = "0"] = position.split(":");
  return formatEventCursor({ at: Number(at), seq: Number(seq) });
}

import {
  type AuditLog,
  type AuditPage,
  type AuditQuery,
  formatEventCursor,
  parseEventCursor,
  type SecurityEvent,
} from "@prolong/core";

type Stored = { event: SecurityEvent; seq: number };

/** Newest first; equal times by arrival, newest first, so a page cursor has one place to stand. */
function newestFirst(a: Stored, b: Stored): number {
  return b.event.at - a.event.at || b.seq - a.seq;
}

/** The security-event log in process memory. */
export class MemoryAuditLog implements AuditLog {
  readonly #events: Stored[] = [];
  #seq = 0;

  async record(event: SecurityEvent): Promise<void> {
    this.#events.push({ event: structuredClone(event), seq: ++this.#seq });
  }

  async list(query: AuditQuery): Promise<AuditPage> {
    const after = query.after === undefined ? null : parseEventCursor(query.after);
    const matching = this.#events
      .filter(
        ({ event, seq }) =>
          (query.subjectId === undefined || event.subjectId === query.subjectId) &&
          (query.sessionId === undefined || event.sessionId === query.sessionId) &&
          (query.type === undefined || event.type === query.type) &&
          (after === null || event.at < after.at || (event.at === after.at && seq < after.seq)),
      )
      .sort(newestFirst);
    const page = matching.slice(0, query.limit);
    const last = page.at(-1);
    return {
      events: page.map((s) => structuredClone(s.event)),
      next:
        last && matching.length > page.length
          ? formatEventCursor({ at: last.event.at, seq: last.seq })
          : null,
    };
  }

  async purge(before: number): Promise<number> {
    const kept = this.#events.filter((s) => s.event.at >= before);
    const deleted = this.#events.length - kept.length;
    this.#events.splice(0, this.#events.length, ...kept);
    return deleted;
  }
}

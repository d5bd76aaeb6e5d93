/** The security-event log (store/index.ts states the rules all operations follow). */

export interface SecurityEvent {
  id: string;
  /** What happened: `signed_in`, `reuse_detected`, `session_revoked`, … (engine events). */
  type: string;
  subjectId: string | null;
  sessionId: string | null;
  at: number;
  /** Small, secret-free details (reason, ip, …). */
  detail: Record<string, unknown>;
}

export interface AuditQuery {
  subjectId?: string;
  sessionId?: string;
  type?: string;
  /**
   * The `next` of the previous page, to read on; absent for the first page. A value the
   * log did not issue is rejected with a `ProlongError` of code `invalid_request`.
   */
  after?: string;
  limit: number;
}

export interface AuditPage {
  /** Events matching every given filter, newest first. */
  events: SecurityEvent[];
  /** Pass as `after` for the next page; `null` when there is none. Opaque to callers. */
  next: string | null;
}

export interface AuditLog {
  record(event: SecurityEvent): Promise<void>;
  list(query: AuditQuery): Promise<AuditPage>;
  /** Deletes events older than `before`; returns how many. */
  purge(before: number): Promise<number>;
}

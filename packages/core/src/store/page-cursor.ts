import { ProlongError } from "../errors.js";

/**
 * The audit-log page cursor of the stores that number events as they arrive (memory,
 * SQL): the time and arrival number of a page's last event. Callers treat it as opaque
 * (store/audit.ts); stores that share this form share its parsing, so a cursor one of
 * them did not issue is refused alike.
 */
export interface EventPosition {
  at: number;
  seq: number;
}

export function formatEventCursor(position: EventPosition): string {
  return `${position.at}.${position.seq}`;
}

/** The position a cursor stands for; `invalid_request` naming `after` for anything else. */
export function parseEventCursor(cursor: string): EventPosition {
  const match = /^(-?\d{1,16})\.(\d{1,16})$/.exec(cursor);
  const at = Number(match?.[1]);
  const seq = Number(match?.[2]);
  if (!match || !Number.isSafeInteger(at) || !Number.isSafeInteger(seq)) {
    throw new ProlongError("invalid_request", "after: not a page cursor of this audit log");
  }
  return { at, seq };
}

import { ProlongError } from "@prolong/core";

/**
 * SQLSTATEs that say the server cannot serve right now, whatever was asked (PostgreSQL
 * manual, appendix A): the connection failed or broke (class 08), the server is shutting
 * down, restarting or refusing connections (57P01 admin_shutdown, 57P02 crash_shutdown,
 * 57P03 cannot_connect_now, 57P05 idle_session_timeout), a statement or lock wait ran
 * past its limit (57014 query_canceled, raised by statement_timeout; 55P03
 * lock_not_available, raised by lock_timeout), the server ran out of something (class 53:
 * 53100 disk_full, 53200 out_of_memory, 53300 too_many_connections, …), the disk failed
 * (58030 io_error), or writes go to a server that is read-only (25006, a standby after a
 * failover or `default_transaction_read_only`).
 */
const UNAVAILABLE_STATES = new Set(["57P01", "57P02", "57P03", "57P05", "57014", "55P03", "58030", "25006"]);
const UNAVAILABLE_CLASSES = ["08", "53"];

/** Socket errors of a server that is down or out of reach (Node's `error.code`). */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/**
 * What node-postgres says, without a code, when a connection is lost, could not be opened
 * in time, or belongs to a pool that was closed.
 */
const DRIVER_MESSAGES = [
  /^Connection terminated/, // "… unexpectedly", "… due to connection timeout"
  /^timeout exceeded when trying to connect$/,
  /^Client has encountered a connection error and is not queryable$/,
  /^Client was closed and is not queryable$/,
  /^Cannot use a pool after calling end on the pool$/,
];

function describeFailure(error: unknown): string | null {
  if (typeof error !== "object" || error === null) return null;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === "string") {
    // Socket codes first: EPIPE has the shape of a SQLSTATE.
    if (NETWORK_CODES.has(code)) return code;
    if (/^[0-9A-Z]{5}$/.test(code)) {
      return UNAVAILABLE_STATES.has(code) || UNAVAILABLE_CLASSES.includes(code.slice(0, 2)) ? code : null;
    }
  }
  if (typeof message === "string" && DRIVER_MESSAGES.some((pattern) => pattern.test(message))) {
    return message;
  }
  // AggregateError: Node's connect tries every address of a host; each refused.
  const errors = (error as { errors?: unknown }).errors;
  if (Array.isArray(errors) && errors.length > 0 && errors.every((e) => describeFailure(e) !== null)) {
    return describeFailure(errors[0]);
  }
  return null;
}

/**
 * `store_unavailable`, keeping the driver's error as its cause, for a failure of the
 * server or the connection to it (the store contract: callers answer "try again later",
 * never "bad credential"); any other error as it was.
 */
export function classifyFailure(error: unknown): unknown {
  if (error instanceof ProlongError) return error;
  const what = describeFailure(error);
  if (what === null) return error;
  return new ProlongError("store_unavailable", `the PostgreSQL store cannot serve now (${what})`, {
    cause: error,
  });
}

import { ProlongError } from "@prolong/core";

/**
 * Error replies that say the server cannot serve right now, whatever was asked: still
 * loading its data (LOADING), a replica or a primary that lost its replicas
 * (READONLY, NOREPLICAS, MASTERDOWN), failing to persist (MISCONF), out of memory under
 * `noeviction` (OOM), busy with a script (BUSY), a Cluster in trouble (CLUSTERDOWN,
 * TRYAGAIN), or refusing our credentials (NOAUTH, WRONGPASS).
 */
const UNAVAILABLE_REPLIES = [
  "LOADING",
  "READONLY",
  "NOREPLICAS",
  "MASTERDOWN",
  "MISCONF",
  "OOM",
  "BUSY",
  "CLUSTERDOWN",
  "TRYAGAIN",
  "NOAUTH",
  "WRONGPASS",
];

/** Socket errors: the server is down, unreachable or went away. */
const UNAVAILABLE_SOCKETS = [
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
];

/**
 * What ioredis says when it cannot get a command to the server: the connection is
 * closed or was closed by `close()`, it gave up with the command queued while
 * reconnecting (MaxRetriesPerRequestError), or no reply came within `commandTimeout`.
 */
const UNAVAILABLE_CLIENT = [
  /^Connection is closed/,
  /^Command timed out/,
  /^Stream isn't writeable/,
  /^Reached the max retries per request limit/,
];

function why(error: unknown): string | null {
  if (!(error instanceof Error)) return null;
  const { name, message } = error;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && UNAVAILABLE_SOCKETS.includes(code)) return code;
  if (name === "MaxRetriesPerRequestError") return "reconnecting";
  if (name === "ReplyError") {
    const reply = /^[A-Z]+/.exec(message)?.[0];
    if (reply && UNAVAILABLE_REPLIES.includes(reply)) return reply;
    // A reply to a script relays the error of the command that failed inside it.
    const inner = /^ERR Error running script.*?: (?:-)?([A-Z]+) /.exec(message)?.[1];
    if (inner && UNAVAILABLE_REPLIES.includes(inner)) return inner;
    return null;
  }
  if (UNAVAILABLE_CLIENT.some((pattern) => pattern.test(message))) return message.replace(/\.$/, "");
  return null;
}

/**
 * `store_unavailable` (with the driver's error as its cause) for a failure of the
 * server or of the connection to it; any other error as it was, so a bug in a script
 * or a wrong argument is never mistaken for an outage.
 */
export function classifyFailure(error: unknown): unknown {
  const reason = why(error);
  if (reason === null) return error;
  return new ProlongError("store_unavailable", `the Redis store cannot serve now (${reason})`, {
    cause: error,
  });
}

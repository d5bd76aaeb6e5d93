/**
 * The revocation feed's events (docs/protocol.md, "Revocation feed"), sent as
 * Server-Sent Events (HTML Living Standard, "Server-sent events"), each `data` one JSON line.
 */
export const FEED_EVENTS = ["snapshot", "revoked", "version"] as const;

/** A revoked session: refuse tokens whose `sid` matches until `exp` (seconds) has passed. */
export interface FeedRevoked {
  sid: string;
  sub: string;
  exp: number;
}

/** A bumped token version: refuse tokens of `sub` whose `ver` is lower, until `exp` (seconds). */
export interface FeedVersion {
  sub: string;
  ver: number;
  exp: number;
}

/** The first event of every connection: what is still relevant, as of `at` (server time, seconds). */
export interface FeedSnapshot {
  sessions: FeedRevoked[];
  versions: FeedVersion[];
  at: number;
}

/** One event of the feed. */
export type FeedEvent =
  | { event: "snapshot"; data: FeedSnapshot }
  | { event: "revoked"; data: FeedRevoked }
  | { event: "version"; data: FeedVersion };

/** The text of one event on the stream, blank line included. */
export function encodeFeedEvent(event: FeedEvent): string {
  // JSON.stringify escapes every line break inside strings, so `data` stays one line.
  return `event: ${event.event}\ndata: ${JSON.stringify(event.data)}\n\n`;
}

/**
 * One event read back from its block of lines (the text between two blank lines, with
 * line ends already turned into `\n`). `null` for comments, unknown events and data that
 * is not the event's shape; a snapshot keeps only its well-formed entries.
 */
export function decodeFeedEvent(block: string): FeedEvent | null {
  let name = "message";
  const data: string[] = [];
  for (const line of block.split("\n")) {
    // A field is `name: value`, the one space after the colon not part of the value.
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const value = line.slice(line[colon + 1] === " " ? colon + 2 : colon + 1);
    const field = line.slice(0, colon);
    if (field === "event") name = value;
    else if (field === "data") data.push(value);
  }
  if (data.length === 0) return null;
  let body: unknown;
  try {
    body = JSON.parse(data.join("\n"));
  } catch {
    return null;
  }
  switch (name) {
    case "revoked":
      return isRevoked(body) ? { event: "revoked", data: body } : null;
    case "version":
      return isVersion(body) ? { event: "version", data: body } : null;
    case "snapshot": {
      if (!isRecord(body)) return null;
      const { sessions, versions, at } = body;
      if (!Array.isArray(sessions) || !Array.isArray(versions) || !isSeconds(at)) return null;
      return {
        event: "snapshot",
        data: { sessions: sessions.filter(isRevoked), versions: versions.filter(isVersion), at },
      };
    }
    default:
      return null;
  }
}

const isSeconds = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value);
const isText = (value: unknown): value is string => typeof value === "string";
const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null;

function isRevoked(value: unknown): value is FeedRevoked {
  return isRecord(value) && isText(value.sid) && isText(value.sub) && isSeconds(value.exp);
}

function isVersion(value: unknown): value is FeedVersion {
  return isRecord(value) && isText(value.sub) && Number.isSafeInteger(value.ver) && isSeconds(value.exp);
}

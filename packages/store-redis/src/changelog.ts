import { ProlongError, type RevocationChange, type RevocationPage, type RevocationRead } from "@prolong/core";
import type { RedisClient } from "./client.js";
import { fieldsOf, instant } from "./codec.js";
import type { Keyspace } from "./keyspace.js";
import { readFeed } from "./scripts/sessions.lua.js";

/**
 * The revocation changelog is one stream per shard (keyspace.ts), so that a revocation
 * and its entry commit in one script in the shard's slot. A cursor is the position in
 * every stream: their ids, in shard order, joined by commas. Each stream's ids only
 * grow, so a change committed after a reader's read always follows its cursor, whatever
 * shard it lands in; readers see each stream in commit order, and the streams merged by
 * id, which follows the changes' `at` (sessions.lua.ts, `append`).
 */

const STREAM_ID = /^\d{1,20}-\d{1,20}$/;

export function parseCursor(cursor: string | null, shards: number): string[] {
  if (cursor === null) return Array.from({ length: shards }, () => "0-0");
  const ids = cursor.split(",");
  if (ids.length !== shards || !ids.every((id) => STREAM_ID.test(id))) {
    throw new ProlongError("invalid_request", "after: not a revocation cursor of this store");
  }
  return ids;
}

export function formatCursor(ids: readonly string[]): string {
  return ids.join(",");
}

/** Orders two stream ids as numbers, digit strings of any length. */
export function compareIds(a: string, b: string): number {
  const [aMs = "", aSeq = ""] = a.split("-");
  const [bMs = "", bSeq = ""] = b.split("-");
  const byNumber = (x: string, y: string) => x.length - y.length || (x < y ? -1 : x > y ? 1 : 0);
  return byNumber(aMs, bMs) || byNumber(aSeq, bSeq);
}

/** An entry as `readFeed` returns it: id, fields, and 1 when it is at or after `since`. */
type Examined = [id: string, fields: string[], kept: 0 | 1];

function toChange(fields: Record<string, string>, cursor: string): RevocationChange {
  const subjectId = fields.subjectId ?? "";
  const at = Number(fields.at);
  return fields.kind === "version"
    ? { cursor, kind: "version", subjectId, version: Number(fields.version), at }
    : { cursor, kind: "revoked", sessionId: fields.sessionId ?? "", subjectId, at };
}

/**
 * Reads every shard's stream from its position (one script each, sent together), then
 * walks what they examined merged by id (ties in shard order), up to `limit` changes
 * kept. The cursor moves past every entry walked, those `since` left out included, so
 * each change's cursor stands just past it, and a page that is not full passes every
 * change that existed at the read. A shard stops examining once it has `limit` changes
 * to give, and the walk never passes such a shard's last one: it stops at `limit` first.
 */
export async function readRevocations(
  client: RedisClient,
  keyspace: Keyspace,
  request: RevocationRead,
): Promise<RevocationPage> {
  const { limit } = request;
  if (!Number.isSafeInteger(limit) || limit < 1) throw new TypeError(`limit must be 1 or more, not ${limit}`);
  const after = parseCursor(request.after, keyspace.shards);
  const since = request.since === undefined ? "" : instant(Math.max(0, request.since), "since");
  const reads = (await Promise.all(
    keyspace
      .allShards()
      .map((base, n) =>
        client.run(readFeed, [keyspace.feed(base)], [after[n] as string, since, String(limit)]),
      ),
  )) as [position: string, examined: Examined[]][];

  const cursor = reads.map(([position]) => position);
  const walk = reads.flatMap(([, examined], shard) => examined.map((entry) => ({ shard, entry })));
  walk.sort((a, b) => compareIds(a.entry[0], b.entry[0]) || a.shard - b.shard);
  const changes: RevocationChange[] = [];
  for (const { shard, entry } of walk) {
    if (changes.length === limit) break;
    const [id, fields, kept] = entry;
    cursor[shard] = id;
    if (kept === 1) changes.push(toChange(fieldsOf(fields), formatCursor(cursor)));
  }
  return { changes, cursor: formatCursor(cursor) };
}

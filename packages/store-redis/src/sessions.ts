import {
  assertSessionLimit,
  type CreateSessionOutcome,
  type GrantBudget,
  type GrantRefusal,
  type HandoffRecord,
  type RevocationPage,
  type RevocationRead,
  type RevokeReason,
  type RotateOutcome,
  type RotateRequest,
  type SessionLimit,
  type SessionListOptions,
  type SessionRecord,
  type SessionStore,
  type StepUp,
  type SubjectPatch,
  type SubjectRecord,
} from "@prolong/core";
import { readRevocations } from "./changelog.js";
import type { RedisClient } from "./client.js";
import {
  type FlatHash,
  fieldsOf,
  handoffFields,
  instant,
  sessionFields,
  toHandoff,
  toSession,
  toSubject,
  whole,
} from "./codec.js";
import type { Keyspace } from "./keyspace.js";
import { purgeHandoffs, putHandoff, takeHandoff } from "./scripts/handoffs.lua.js";
import * as lua from "./scripts/sessions.lua.js";
import type { RevocationWatch } from "./watch.js";

const DAY = 86_400_000;
/** Sessions, handoffs or ids one purge script takes at most, so no script holds Redis for long. */
const PURGE_CHUNK = 500;
/** Session-to-shard lookups remembered per store: the answer never changes, so a refresh skips a round trip. */
const SHARD_CACHE = 10_000;
/** How long an unredeemed handoff outlives its expiry before Redis drops it (clock skew, slow redemption). */
const HANDOFF_SLACK = 60_000;

const session = (flat: FlatHash) => toSession(fieldsOf(flat));
const subject = (flat: FlatHash) => toSubject(fieldsOf(flat));

/**
 * Sessions, subjects, handoffs and the revocation changelog on Redis. Each operation is
 * one script in one shard's slot (keyspace.ts), so races between processes are settled
 * by Redis running scripts one at a time; each revoking script appends its change to
 * the shard's stream before it ends.
 */
export class RedisSessionStore implements SessionStore {
  readonly #client: RedisClient;
  readonly #keys: Keyspace;
  /** How long an ended session stays (the `retention` option), in ms. */
  readonly #retention: number;
  readonly #watch: RevocationWatch;
  readonly #shards = new Map<string, number>();

  constructor(client: RedisClient, keys: Keyspace, retention: number, watch: RevocationWatch) {
    this.#client = client;
    this.#keys = keys;
    this.#retention = retention;
    this.#watch = watch;
  }

  /** The base of a subject's shard. */
  #base(subjectId: string): string {
    return this.#keys.shard(this.#keys.shardOf(subjectId));
  }

  /**
   * The base of a session's shard, from its id alone (the engine names only the id to
   * read, rotate or revoke); `null` when the session does not exist. Remembered, as a
   * session never moves: a deleted one is then simply not found in its shard.
   */
  async #locate(sessionId: string): Promise<string | null> {
    let shard = this.#shards.get(sessionId);
    if (shard === undefined) {
      const stored = await this.#client.call((redis) => redis.get(this.#keys.pointer(sessionId)));
      if (stored === null) return null;
      shard = Number(stored);
      if (this.#shards.size >= SHARD_CACHE) this.#shards.delete(this.#shards.keys().next().value as string);
      this.#shards.set(sessionId, shard);
    }
    return this.#keys.shard(shard);
  }

  async ensureSubject(id: string, now: number): Promise<SubjectRecord> {
    const key = this.#keys.subject(this.#base(id), id);
    return subject((await this.#client.run(lua.ensureSubject, [key], [id, whole(now, "now")])) as FlatHash);
  }

  async findSubject(id: string): Promise<SubjectRecord | null> {
    const key = this.#keys.subject(this.#base(id), id);
    const fields = await this.#client.call((redis) => redis.hgetall(key));
    return Object.keys(fields).length === 0 ? null : toSubject(fields);
  }

  async updateSubject(id: string, patch: SubjectPatch, now: number): Promise<SubjectRecord | null> {
    const set: string[] = [];
    const unset: string[] = [];
    if (patch.disabled !== undefined) set.push("disabled", patch.disabled ? "1" : "0");
    if (patch.reauthRequiredAt === null) unset.push("reauthRequiredAt");
    else if (patch.reauthRequiredAt !== undefined) {
      set.push("reauthRequiredAt", whole(patch.reauthRequiredAt, "reauthRequiredAt"));
    }
    if (patch.claims !== undefined) set.push("claims", JSON.stringify(patch.claims));
    const key = this.#keys.subject(this.#base(id), id);
    const args = [whole(now, "now"), String(set.length / 2), ...set, ...unset];
    const flat = (await this.#client.run(lua.patchHash, [key], args)) as FlatHash | null;
    return flat ? subject(flat) : null;
  }

  async bumpTokenVersion(id: string, now: number): Promise<SubjectRecord | null> {
    const base = this.#base(id);
    const keys = [this.#keys.subject(base, id), this.#keys.feed(base)];
    const flat = (await this.#client.run(lua.bumpTokenVersion, keys, [
      instant(now, "now"),
    ])) as FlatHash | null;
    return flat ? subject(flat) : null;
  }

  async createSession(
    record: SessionRecord,
    limit: SessionLimit | null = null,
  ): Promise<CreateSessionOutcome> {
    if (limit) assertSessionLimit(limit);
    const shard = this.#keys.shardOf(record.subjectId);
    const base = this.#keys.shard(shard);
    const fields = sessionFields(record);
    // The pointer first: a session is never stored where its id cannot lead. It lives as
    // long as the session can (its absolute limit, plus retention and a day for clocks
    // that disagree); one without an absolute limit keeps its pointer until purge.
    const pointer = this.#keys.pointer(record.id);
    const { absoluteExpiresAt, lastActiveAt } = record;
    await this.#client.call((redis) =>
      absoluteExpiresAt === null
        ? redis.set(pointer, String(shard))
        : redis.set(
            pointer,
            String(shard),
            "PX",
            Math.max(absoluteExpiresAt - lastActiveAt, 0) + this.#retention + DAY,
          ),
    );
    const keys = [
      this.#keys.session(base, record.id),
      this.#keys.sessionIndex(base, record.subjectId),
      this.#keys.ends(base),
    ];
    const head = [base, String(lastActiveAt), String(this.#retention), String(record.createdAt)];
    if (!limit) {
      await this.#client.run(lua.createSession, keys, [...head, ...fields]);
      return { status: "created", evicted: [] };
    }
    // Counted, evicted or refused, and stored, in one script over the subject's index.
    const answer = (await this.#client.run(lua.createLimitedSession, keys, [
      ...head,
      String(limit.max),
      limit.onLimit,
      String(limit.clientIds.length),
      ...limit.clientIds,
      ...fields,
    ])) as ["created", string[]] | ["refused", number];
    if (answer[0] === "refused") {
      // Nothing was stored, so nothing may lead to it.
      await this.#client.call((redis) => redis.del(pointer));
      return { status: "refused", live: Number(answer[1]) };
    }
    return { status: "created", evicted: answer[1] };
  }

  async stepUp(sessionId: string, step: StepUp, now: number): Promise<SessionRecord | null> {
    const base = await this.#locate(sessionId);
    if (base === null) return null;
    const mode = (value: unknown) => (value === undefined ? "0" : value === null ? "2" : "1");
    const args = [
      whole(now, "now"),
      whole(step.authTime, "authTime"),
      mode(step.acr),
      step.acr ?? "",
      mode(step.amr),
      step.amr ? JSON.stringify(step.amr) : "",
    ];
    const flat = (await this.#client.run(
      lua.stepUp,
      [this.#keys.session(base, sessionId)],
      args,
    )) as FlatHash | null;
    return flat ? session(flat) : null;
  }

  async readSession(id: string): Promise<{ session: SessionRecord; subject: SubjectRecord } | null> {
    const base = await this.#locate(id);
    if (base === null) return null;
    const found = (await this.#client.run(lua.readSession, [this.#keys.session(base, id)], [base])) as
      | [FlatHash, FlatHash]
      | null;
    return found ? { session: session(found[0]), subject: subject(found[1]) } : null;
  }

  async listSessions(
    subjectId: string,
    now: number,
    options: SessionListOptions = {},
  ): Promise<SessionRecord[]> {
    const base = this.#base(subjectId);
    const { after, clientId, limit } = options;
    const args = [
      base,
      whole(now, "now"),
      options.ended ? "1" : "0",
      clientId === undefined ? "0" : "1",
      clientId ?? "",
      after ? "1" : "0",
      after ? whole(after.createdAt, "after.createdAt") : "",
      after?.id ?? "",
      limit === undefined ? "-1" : whole(Math.max(limit, 0), "limit"),
    ];
    const key = this.#keys.sessionIndex(base, subjectId);
    return ((await this.#client.run(lua.listSessions, [key], args)) as FlatHash[]).map(session);
  }

  async renameSession(id: string, deviceName: string): Promise<SessionRecord | null> {
    const base = await this.#locate(id);
    if (base === null) return null;
    const flat = (await this.#client.run(
      lua.renameSession,
      [this.#keys.session(base, id)],
      [deviceName],
    )) as FlatHash | null;
    return flat ? session(flat) : null;
  }

  async rotate(request: RotateRequest): Promise<RotateOutcome> {
    const { sessionId, now } = request;
    const base = await this.#locate(sessionId);
    if (base === null) return { status: "unknown" };
    const args = [
      base,
      request.clientId,
      whole(request.generation, "generation"),
      request.presentedHash,
      request.successorHash,
      instant(now, "now"),
      whole(request.graceMs, "graceMs"),
      whole(now + request.idleTimeoutMs, "idleTimeoutMs"),
      String(this.#retention),
      request.budget ? whole(request.budget.max, "budget.max") : "",
      request.budget ? whole(request.budget.windowMs, "budget.windowMs") : "",
      // A thumbprint may be any string: whether a proof came travels on its own.
      typeof request.proofJkt === "string" ? "1" : "0",
      request.proofJkt ?? "",
      request.deviceBound === true ? "1" : "0",
    ];
    const [status, flat, subjectFlat] = (await this.#client.run(
      lua.rotate,
      [this.#keys.session(base, sessionId)],
      args,
    )) as [RotateOutcome["status"], (FlatHash | string)?, FlatHash?];
    if (status === "limited") return { status, resetAt: Number(flat) };
    if (status === "unbound") return { status };
    if (status === "unknown" || !Array.isArray(flat) || !subjectFlat) return { status: "unknown" };
    return { status, session: session(flat), subject: subject(subjectFlat) };
  }

  async registerDeviceKey(
    sessionId: string,
    key: string,
    now: number,
  ): Promise<"registered" | "taken" | "missing"> {
    const base = await this.#locate(sessionId);
    if (base === null) return "missing";
    return (await this.#client.run(
      lua.registerDeviceKey,
      [this.#keys.session(base, sessionId)],
      [whole(now, "now"), key],
    )) as "registered" | "taken" | "missing";
  }

  async touchSession(
    id: string,
    now: number,
    idleTimeoutMs: number,
    budget: GrantBudget | null = null,
  ): Promise<SessionRecord | GrantRefusal | null> {
    const base = await this.#locate(id);
    if (base === null) return null;
    const args = [
      base,
      whole(now, "now"),
      whole(now + idleTimeoutMs, "idleTimeoutMs"),
      String(this.#retention),
      budget ? whole(budget.max, "budget.max") : "",
      budget ? whole(budget.windowMs, "budget.windowMs") : "",
    ];
    const flat = (await this.#client.run(
      lua.touchSession,
      [this.#keys.session(base, id)],
      args,
    )) as FlatHash | null;
    if (flat?.[0] === "limited") return { status: "limited", resetAt: Number(flat[1]) };
    return flat ? session(flat) : null;
  }

  async revokeSession(id: string, reason: RevokeReason, now: number): Promise<SessionRecord | null> {
    const base = await this.#locate(id);
    if (base === null) return null;
    const args = [base, instant(now, "now"), reason, String(this.#retention)];
    const flat = (await this.#client.run(
      lua.revokeSession,
      [this.#keys.session(base, id)],
      args,
    )) as FlatHash | null;
    return flat ? session(flat) : null;
  }

  async revokeSubjectSessions(
    subjectId: string,
    options: { exceptId?: string; reason: RevokeReason; now: number },
  ): Promise<SessionRecord[]> {
    const base = this.#base(subjectId);
    const { exceptId } = options;
    const args = [
      base,
      instant(options.now, "now"),
      options.reason,
      String(this.#retention),
      exceptId === undefined ? "0" : "1",
      exceptId ?? "",
    ];
    const key = this.#keys.sessionIndex(base, subjectId);
    return ((await this.#client.run(lua.revokeSubjectSessions, [key], args)) as FlatHash[]).map(session);
  }

  async putHandoff(handoff: HandoffRecord): Promise<void> {
    const ttl = Math.max(handoff.expiresAt - handoff.createdAt, 0) + HANDOFF_SLACK;
    await this.#client.run(
      putHandoff,
      [this.#keys.handoff(handoff.hash), this.#keys.handoffExpiry()],
      [handoff.hash, whole(handoff.expiresAt, "expiresAt"), String(ttl), ...handoffFields(handoff)],
    );
  }

  async takeHandoff(hash: string, now: number): Promise<HandoffRecord | null> {
    const flat = (await this.#client.run(
      takeHandoff,
      [this.#keys.handoff(hash), this.#keys.handoffExpiry()],
      [hash, whole(now, "now")],
    )) as FlatHash | null;
    return flat ? toHandoff(fieldsOf(flat)) : null;
  }

  readRevocations(request: RevocationRead): Promise<RevocationPage> {
    return readRevocations(this.#client, this.#keys, request);
  }

  watchRevocations(wake: () => void): () => void {
    return this.#watch.add(wake);
  }

  /**
   * Shard by shard, in chunks: sessions purge may take (then their pointers, which live
   * in other slots), changelog entries by id (`XTRIM MINID`: every id below the cut-off
   * belongs to an entry older than it), then expired handoffs.
   */
  async purge(before: number): Promise<number> {
    const cut = whole(before, "before");
    let deleted = 0;
    for (const base of this.#keys.allShards()) {
      for (let more = true; more; ) {
        const [count, ids] = (await this.#client.run(
          lua.purgeSessions,
          [this.#keys.ends(base)],
          [base, cut, String(PURGE_CHUNK)],
        )) as [number, string[]];
        deleted += count;
        more = ids.length === PURGE_CHUNK;
        for (const id of ids) this.#shards.delete(id);
        // One key per command: pointers of one chunk lie in many slots.
        await Promise.all(
          ids.map((id) => this.#client.call((redis) => redis.unlink(this.#keys.pointer(id)))),
        );
      }
      if (before > 0) {
        await this.#client.call((redis) => redis.xtrim(this.#keys.feed(base), "MINID", `${cut}-0`));
      }
    }
    for (let more = true; more; ) {
      const count = (await this.#client.run(
        purgeHandoffs,
        [this.#keys.handoffExpiry()],
        [this.#keys.handoffs(), cut, String(PURGE_CHUNK)],
      )) as number;
      more = count === PURGE_CHUNK;
    }
    return deleted;
  }
}

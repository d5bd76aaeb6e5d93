/**
 * Where everything lives in Redis. Every key starts with the configured prefix (say
 * `prolong:`). Keys a script touches together carry one hash tag, the part in braces,
 * so Redis Cluster puts them in one slot and every script stays inside it:
 *
 * | key | type | holds |
 * |---|---|---|
 * | `{shardN}:u:<subject>` | hash | a subject's standing (disabled, token version, re-auth, claims) |
 * | `{shardN}:x:<subject>` | sorted set | the subject's session ids, scored by creation |
 * | `{shardN}:s:<session>` | hash | a session; null fields are absent |
 * | `{shardN}:ends` | sorted set | the shard's sessions by the instant purge may take them |
 * | `{shardN}:feed` | stream | the shard's revocation changelog |
 * | `sp:<session>` | string | the shard of a session, for the operations that name only the session |
 * | `{handoffs}:h:<hash>`, `{handoffs}:expiry` | hash, sorted set | one-time handoffs, and their expiries for purge |
 * | `{accounts}:n:<username>`, `{accounts}:s:<subject>`, `{accounts}:names` | hash, string, sorted set | accounts, by name and by subject |
 * | `{keys}:k:<kid>`, `{keys}:kids`, `{keys}:secrets` | hash, set, hash | signing keys, and server secrets |
 * | `{audit}:events`, `{audit}:by:…` | hash, sorted sets | security events, indexed by subject, session, type |
 * | `rl:<key>` | hash | one rate-limit window |
 * | `rp:<key>` | string | one single-use claim: when it expires |
 * | `heartbeat` | string | the readiness write |
 *
 * A subject's shard N is fixed by its id (FNV-1a of its UTF-8 bytes, modulo the
 * `shards` option), so a subject, its sessions and the changelog stream its revocations
 * go to share a slot: a revocation and its changelog entry commit in one script, as the
 * store contract asks. Scripts build the `:u:`, `:x:` and `:s:` keys of their shard from
 * the shard's base key (`<prefix>{shardN}`) with the same suffixes as below.
 */
export class Keyspace {
  readonly #prefix: string;
  readonly shards: number;

  constructor(prefix: string, shards: number) {
    this.#prefix = prefix;
    this.shards = shards;
  }

  /** The shard of a subject: stable across processes and releases, as the data depends on it. */
  shardOf(subjectId: string): number {
    let hash = 0x811c9dc5;
    for (const byte of Buffer.from(subjectId, "utf8")) {
      hash = Math.imul(hash ^ byte, 0x01000193);
    }
    return (hash >>> 0) % this.shards;
  }

  /** The base every key of shard `n` starts with; scripts append the suffixes below to it. */
  shard(n: number): string {
    return `${this.#prefix}{shard${n}}`;
  }

  /** Every shard's base, in shard order. */
  allShards(): string[] {
    return Array.from({ length: this.shards }, (_, n) => this.shard(n));
  }

  subject(base: string, subjectId: string): string {
    return `${base}:u:${subjectId}`;
  }

  /** The subject's session index. */
  sessionIndex(base: string, subjectId: string): string {
    return `${base}:x:${subjectId}`;
  }

  session(base: string, sessionId: string): string {
    return `${base}:s:${sessionId}`;
  }

  ends(base: string): string {
    return `${base}:ends`;
  }

  feed(base: string): string {
    return `${base}:feed`;
  }

  /** Where the shard of a session is found from its id alone. */
  pointer(sessionId: string): string {
    return `${this.#prefix}sp:${sessionId}`;
  }

  /** The base of the handoff keys; one slot, as `purge` finds them through one index. */
  handoffs(): string {
    return `${this.#prefix}{handoffs}`;
  }

  handoff(hash: string): string {
    return `${this.handoffs()}:h:${hash}`;
  }

  /** Every handoff's hash, scored by its expiry. */
  handoffExpiry(): string {
    return `${this.handoffs()}:expiry`;
  }

  /** The base of the account keys; one slot, as a username and a subject are claimed together. */
  accounts(): string {
    return `${this.#prefix}{accounts}`;
  }

  /** The base of signing keys and secrets; one slot, as a promotion retires and activates together. */
  keys(): string {
    return `${this.#prefix}{keys}`;
  }

  /** The base of the audit log; one slot, as an event and its indexes are written together. */
  audit(): string {
    return `${this.#prefix}{audit}`;
  }

  limit(key: string): string {
    return `${this.#prefix}rl:${key}`;
  }

  /** A single-use claim (store/replay.ts in core). */
  claim(key: string): string {
    return `${this.#prefix}rp:${key}`;
  }

  heartbeat(): string {
    return `${this.#prefix}heartbeat`;
  }
}

import type {
  CreateSessionOutcome,
  RevocationChange,
  RotateOutcome,
  SessionLimit,
  SessionRecord,
  SessionStore,
  SubjectPatch,
  SubjectRecord,
} from "@prolong/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DAY, type StoreFactory, sessionRecord, T0, withConcern } from "./fixtures.js";

const GRACE = 30_000;
const IDLE = 2 * DAY;
/** Subjects the commands pick from; the last one is never ensured, so operations on it miss. */
const SUBJECTS = ["subject-1", "subject-2", "subject-never"] as const;
const CLIENTS = ["web", "native"] as const;

type Change = RevocationChange extends infer C ? (C extends unknown ? Omit<C, "cursor"> : never) : never;

/**
 * A deliberately naive model of the contract in core's store/sessions.ts, written from its
 * prose rather than from any store, so a store and the model disagreeing means one of
 * them misreads the contract.
 */
class Model {
  readonly subjects = new Map<string, SubjectRecord>();
  readonly sessions = new Map<string, SessionRecord>();
  /** Changes the store should have appended since the test last read them. */
  pending: Change[] = [];

  ensure(id: string, now: number): SubjectRecord {
    let subject = this.subjects.get(id);
    if (!subject) {
      subject = {
        id,
        disabled: false,
        tokenVersion: 0,
        reauthRequiredAt: null,
        claims: {},
        createdAt: now,
        updatedAt: now,
      };
      this.subjects.set(id, subject);
    }
    return structuredClone(subject);
  }

  update(id: string, patch: SubjectPatch, now: number): SubjectRecord | null {
    const subject = this.subjects.get(id);
    if (!subject) return null;
    Object.assign(subject, structuredClone(patch), { updatedAt: now });
    return structuredClone(subject);
  }

  bump(id: string, now: number): SubjectRecord | null {
    const subject = this.subjects.get(id);
    if (!subject) return null;
    subject.tokenVersion += 1;
    subject.updatedAt = now;
    this.pending.push({ kind: "version", subjectId: id, version: subject.tokenVersion, at: now });
    return structuredClone(subject);
  }

  read(id: string): { session: SessionRecord; subject: SubjectRecord } | null {
    const session = this.sessions.get(id);
    const subject = session && this.subjects.get(session.subjectId);
    return session && subject ? { session: { ...session }, subject: structuredClone(subject) } : null;
  }

  revoke(s: SessionRecord, reason: SessionRecord["revokedReason"], now: number): void {
    s.revokedAt = now;
    s.revokedReason = reason;
    this.pending.push({ kind: "revoked", sessionId: s.id, subjectId: s.subjectId, at: now });
  }

  rotate(
    id: string,
    clientId: string,
    generation: number,
    hash: string,
    successor: string,
    now: number,
    binding: { proofJkt: string | null; deviceBound: boolean },
  ): RotateOutcome {
    const found = this.read(id);
    const s = this.sessions.get(id);
    if (!found || !s || s.clientId !== clientId) return { status: "unknown" };
    const outcome = (
      status: "rotated" | "replayed" | "overtaken" | "reused" | "revoked" | "expired" | "mismatched",
    ): RotateOutcome => ({
      status,
      session: { ...s },
      subject: found.subject,
    });
    if (s.revokedAt !== null) return outcome("revoked");
    const expired = now >= s.idleExpiresAt || (s.absoluteExpiresAt !== null && now >= s.absoluteExpiresAt);
    if (expired) return outcome("expired");
    if (s.dpopJkt !== null && binding.proofJkt !== s.dpopJkt) {
      this.revoke(s, "key_mismatch", now);
      return outcome("mismatched");
    }
    if (s.deviceKey !== null && !binding.deviceBound) return { status: "unbound" };
    if (generation === s.generation && hash === s.currentHash) {
      s.previousHash = s.currentHash;
      s.currentHash = successor;
      s.generation += 1;
      s.rotatedAt = now;
      s.lastActiveAt = now;
      s.idleExpiresAt = s.absoluteExpiresAt === null ? now + IDLE : Math.min(now + IDLE, s.absoluteExpiresAt);
      return outcome("rotated");
    }
    const inGrace = s.rotatedAt !== null && now - s.rotatedAt <= GRACE;
    if (generation === s.generation - 1 && hash === s.previousHash && inGrace) return outcome("replayed");
    // A straggler: the store keeps no hash two generations back, so any hash will do.
    if (generation === s.generation - 2 && inGrace) return outcome("overtaken");
    if (generation < s.generation) {
      this.revoke(s, "reuse", now);
      return outcome("reused");
    }
    return { status: "unknown" };
  }

  /** createSession: with a limit, the subject's own live sessions of its clients counted at the start. */
  create(record: SessionRecord, limit: SessionLimit | null): CreateSessionOutcome {
    const evicted: string[] = [];
    if (limit) {
      const counted = this.live(record.subjectId, record.createdAt)
        .filter((s) => s.actor === null && limit.clientIds.includes(s.clientId))
        .sort((a, b) => a.lastActiveAt - b.lastActiveAt || (a.id < b.id ? -1 : 1));
      if (counted.length >= limit.max && limit.onLimit === "refuse") {
        return { status: "refused", live: counted.length };
      }
      for (const victim of counted.slice(0, Math.max(counted.length - limit.max + 1, 0))) {
        this.revoke(this.sessions.get(victim.id) as SessionRecord, "evicted", record.createdAt);
        evicted.push(victim.id);
      }
    }
    this.sessions.set(record.id, { ...record });
    return { status: "created", evicted };
  }

  stepUp(id: string, authTime: number, acr: string | null | undefined, now: number): SessionRecord | null {
    const s = this.sessions.get(id);
    if (!s || !this.live(s.subjectId, now).some((l) => l.id === id)) return null;
    if (authTime > s.authTime) s.authTime = authTime;
    if (acr !== undefined) s.acr = acr;
    if (acr !== undefined) s.amr = acr === null ? null : [acr.slice(-3)];
    return { ...s };
  }

  register(id: string, key: string, now: number): "registered" | "taken" | "missing" {
    const s = this.sessions.get(id);
    if (!s || !this.live(s.subjectId, now).some((l) => l.id === id)) return "missing";
    if (s.deviceKey !== null) return "taken";
    s.deviceKey = key;
    return "registered";
  }

  live(subjectId: string, now: number): SessionRecord[] {
    return [...this.sessions.values()]
      .filter(
        (s) =>
          s.subjectId === subjectId &&
          s.revokedAt === null &&
          now < s.idleExpiresAt &&
          (s.absoluteExpiresAt === null || now < s.absoluteExpiresAt),
      )
      .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1))
      .map((s) => ({ ...s }));
  }
}

/** Which token a rotate presents; "older" is two generations behind, "oldest" three. */
type Presented = "current" | "previous" | "older" | "oldest" | "garbage" | "later" | "foreign";

/** What binds a new session: nothing, a DPoP key (RFC 9449), or a DBSC device key. */
type Binding = "none" | "dpop" | "device";

/** A limit a creation comes with: none, or at most two of the subject's web sessions. */
type Limit = "none" | "evict" | "refuse";

/** Which DPoP proof comes with a rotate: one of the session's key, none, or another key's. */
type Proof = "own" | "none" | "other";

type Command =
  | {
      kind: "create";
      subject: number;
      client: number;
      unlimited: boolean;
      binding: Binding;
      limit: Limit;
      impersonated: boolean;
    }
  | { kind: "stepUp"; target: number; back: number; acr: "keep" | "clear" | "set" }
  | { kind: "advance"; ms: number }
  | { kind: "rotate"; target: number; presented: Presented; proof: Proof; deviceBound: boolean }
  | { kind: "register"; target: number; key: number }
  | { kind: "read"; target: number }
  | { kind: "revoke"; target: number }
  | { kind: "revokeAll"; subject: number; except: number }
  | { kind: "touch"; target: number }
  | { kind: "rename"; target: number; name: string }
  | { kind: "list"; subject: number }
  | { kind: "bump"; subject: number }
  | { kind: "update"; subject: number; patch: "disable" | "enable" | "reauth" | "clear" | "claims" };

const subjectArb = fc.nat(SUBJECTS.length - 1);

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant("create" as const),
      subject: fc.nat(1),
      client: fc.nat(CLIENTS.length - 1),
      unlimited: fc.boolean(),
      binding: fc.constantFrom<Binding>("none", "none", "dpop", "device"),
      limit: fc.constantFrom<Limit>("none", "none", "evict", "refuse"),
      impersonated: fc.constantFrom(false, false, false, true),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant("stepUp" as const),
      target: fc.nat(5),
      back: fc.constantFrom(0, 1, DAY),
      acr: fc.constantFrom("keep" as const, "clear" as const, "set" as const),
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant("advance" as const),
      ms: fc.oneof(fc.integer({ min: 0, max: 40_000 }), fc.constantFrom(GRACE, GRACE + 1, IDLE, DAY)),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant("rotate" as const),
      target: fc.nat(5),
      presented: fc.constantFrom<Presented>(
        "current",
        "current",
        "previous",
        "older",
        "oldest",
        "garbage",
        "later",
        "foreign",
      ),
      // Mostly the right key and cookie, so bound sessions live long enough to be rotated.
      proof: fc.constantFrom<Proof>("own", "own", "own", "none", "other"),
      deviceBound: fc.constantFrom(true, true, true, false),
    }),
    weight: 6,
  },
  {
    arbitrary: fc.record({ kind: fc.constant("register" as const), target: fc.nat(5), key: fc.nat(2) }),
    weight: 1,
  },
  { arbitrary: fc.record({ kind: fc.constant("read" as const), target: fc.nat(6) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant("revoke" as const), target: fc.nat(5) }), weight: 1 },
  {
    arbitrary: fc.record({ kind: fc.constant("revokeAll" as const), subject: subjectArb, except: fc.nat(6) }),
    weight: 1,
  },
  { arbitrary: fc.record({ kind: fc.constant("touch" as const), target: fc.nat(5) }), weight: 1 },
  {
    arbitrary: fc.record({
      kind: fc.constant("rename" as const),
      target: fc.nat(5),
      name: fc.string({ maxLength: 8 }),
    }),
    weight: 1,
  },
  { arbitrary: fc.record({ kind: fc.constant("list" as const), subject: subjectArb }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant("bump" as const), subject: subjectArb }), weight: 1 },
  {
    arbitrary: fc.record({
      kind: fc.constant("update" as const),
      subject: subjectArb,
      patch: fc.constantFrom("disable", "enable", "reauth", "clear", "claims"),
    }),
    weight: 1,
  },
);

/** Hashes by generation, so a command can present "the token before the previous one". */
const hashOf = (id: string, generation: number) => `${id}#${generation}`;
/** The DPoP key thumbprint a bound session `id` is created with. */
const jktOf = (id: string) => `jkt-${id}`;
const deviceKeyOf = (n: number) => JSON.stringify({ kty: "EC", crv: "P-256", n });

function patchOf(kind: Extract<Command, { kind: "update" }>["patch"], now: number): SubjectPatch {
  switch (kind) {
    case "disable":
      return { disabled: true };
    case "enable":
      return { disabled: false };
    case "reauth":
      return { reauthRequiredAt: now };
    case "clear":
      return { reauthRequiredAt: null };
    case "claims":
      return { claims: { roles: ["role-at", now], nested: { now } } };
  }
}

async function runCommands(store: SessionStore, commands: Command[]): Promise<void> {
  const model = new Model();
  const ids: string[] = [];
  let now = T0;
  let cursor: string | null = null;
  const pick = (target: number) => (ids.length === 0 ? "missing" : (ids[target % ids.length] as string));
  const subjectAt = (index: number) => SUBJECTS[index] as string;

  for (const [step, command] of commands.entries()) {
    const where = `step ${step}: ${JSON.stringify(command)}`;
    switch (command.kind) {
      case "create": {
        const id = `m${ids.length}`;
        const subjectId = subjectAt(command.subject);
        const record = sessionRecord({
          id,
          subjectId,
          clientId: CLIENTS[command.client] as string,
          createdAt: now + ids.length, // distinct, so "newest first" has one answer
          authTime: now,
          lastActiveAt: now,
          idleExpiresAt: now + IDLE,
          absoluteExpiresAt: command.unlimited ? null : now + 3 * DAY,
          currentHash: hashOf(id, 0),
          dpopJkt: command.binding === "dpop" ? jktOf(id) : null,
          deviceKey: command.binding === "device" ? deviceKeyOf(0) : null,
          actor: command.impersonated ? "admin-1" : null,
        });
        ids.push(id);
        expect(await store.ensureSubject(subjectId, now), where).toEqual(model.ensure(subjectId, now));
        const limit: SessionLimit | null =
          command.limit === "none" ? null : { max: 2, clientIds: ["web"], onLimit: command.limit };
        const expected = model.create(record, limit);
        expect(
          await (limit ? store.createSession(record, limit) : store.createSession(record)),
          where,
        ).toEqual(expected);
        break;
      }
      case "stepUp": {
        const id = pick(command.target);
        const acr = { keep: undefined, clear: null, set: `urn:example:loa-${now}` }[command.acr];
        const step = {
          authTime: now - command.back,
          ...(acr === undefined ? {} : { acr, amr: acr === null ? null : [acr.slice(-3)] }),
        };
        expect(await store.stepUp(id, step, now), where).toEqual(
          model.stepUp(id, now - command.back, acr, now),
        );
        break;
      }
      case "advance":
        now += command.ms;
        break;
      case "rotate": {
        const id = pick(command.target);
        const known = model.sessions.get(id);
        const current = known?.generation ?? 0;
        const generation = {
          current,
          previous: current - 1,
          older: current - 2,
          oldest: current - 3,
          garbage: current,
          later: current + 1,
          foreign: current,
        }[command.presented];
        const hash = command.presented === "garbage" ? `${id}#forged` : hashOf(id, generation);
        const successor = hashOf(id, generation + 1);
        const ownClient = known?.clientId ?? "web";
        const clientId = command.presented === "foreign" ? `not-${ownClient}` : ownClient;
        if (generation < 0) break;
        const proofJkt = { own: jktOf(id), none: null, other: jktOf(`not-${id}`) }[command.proof];
        const binding = { proofJkt, deviceBound: command.deviceBound };
        const expected = model.rotate(id, clientId, generation, hash, successor, now, binding);
        const actual = await store.rotate({
          sessionId: id,
          clientId,
          generation,
          presentedHash: hash,
          successorHash: successor,
          now,
          graceMs: GRACE,
          idleTimeoutMs: IDLE,
          ...binding,
        });
        expect(actual, where).toEqual(expected);
        break;
      }
      case "register": {
        const id = pick(command.target);
        const key = deviceKeyOf(command.key);
        expect(await store.registerDeviceKey(id, key, now), where).toBe(model.register(id, key, now));
        break;
      }
      case "read": {
        const id = pick(command.target);
        expect(await store.readSession(id), where).toEqual(model.read(id));
        break;
      }
      case "revoke": {
        const id = pick(command.target);
        const s = model.sessions.get(id);
        const expected = s && s.revokedAt === null ? s : null;
        if (expected) model.revoke(expected, "revoked", now);
        expect(await store.revokeSession(id, "revoked", now), where).toEqual(
          expected ? { ...expected } : null,
        );
        break;
      }
      case "revokeAll": {
        const subjectId = subjectAt(command.subject);
        // `except` past the last session means "spare none".
        const exceptId = ids[command.except] ?? undefined;
        const revoked = await store.revokeSubjectSessions(subjectId, {
          reason: "logout_everywhere",
          now,
          ...(exceptId === undefined ? {} : { exceptId }),
        });
        const expected = [...model.sessions.values()].filter(
          (s) => s.subjectId === subjectId && s.revokedAt === null && s.id !== exceptId,
        );
        expect(revoked.map((s) => s.id).sort(), where).toEqual(expected.map((s) => s.id).sort());
        // The contract orders the changes as the store returned the sessions.
        for (const r of revoked)
          model.revoke(model.sessions.get(r.id) as SessionRecord, "logout_everywhere", now);
        expect(revoked, where).toEqual(revoked.map((r) => ({ ...model.sessions.get(r.id) })));
        break;
      }
      case "touch": {
        const id = pick(command.target);
        const s = model.sessions.get(id);
        const live = s && model.live(s.subjectId, now).some((l) => l.id === id);
        if (s && live) {
          s.lastActiveAt = now;
          s.idleExpiresAt =
            s.absoluteExpiresAt === null ? now + IDLE : Math.min(now + IDLE, s.absoluteExpiresAt);
        }
        expect(await store.touchSession(id, now, IDLE), where).toEqual(s && live ? { ...s } : null);
        break;
      }
      case "rename": {
        const id = pick(command.target);
        const s = model.sessions.get(id);
        if (s && s.revokedAt === null) s.deviceName = command.name;
        expect(await store.renameSession(id, command.name), where).toEqual(
          s && s.revokedAt === null ? { ...s } : null,
        );
        break;
      }
      case "list": {
        const subjectId = subjectAt(command.subject);
        expect(await store.listSessions(subjectId, now), where).toEqual(model.live(subjectId, now));
        break;
      }
      case "bump": {
        const subjectId = subjectAt(command.subject);
        expect(await store.bumpTokenVersion(subjectId, now), where).toEqual(model.bump(subjectId, now));
        break;
      }
      case "update": {
        const subjectId = subjectAt(command.subject);
        const patch = patchOf(command.patch, now);
        expect(await store.updateSubject(subjectId, patch, now), where).toEqual(
          model.update(subjectId, patch, now),
        );
        break;
      }
    }
    // The changelog holds exactly the changes this step made, in order.
    const page = await store.readRevocations({ after: cursor, limit: 1000 });
    expect(
      page.changes.map(({ cursor: _cursor, ...change }) => change),
      `${where}: changelog`,
    ).toEqual(model.pending);
    model.pending = [];
    cursor = page.cursor;
  }
  for (const id of model.sessions.keys()) {
    expect(await store.readSession(id), `final ${id}`).toEqual(model.read(id));
  }
  for (const id of SUBJECTS) {
    expect(await store.findSubject(id), `final ${id}`).toEqual(model.subjects.get(id) ?? null);
  }
}

/** Random sequences of operations against the store and the model, compared after every step. */
export function modelCases(factory: StoreFactory, runs: number): void {
  describe("model-based", () => {
    it("agrees with the model over random operation sequences", async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(commandArb, { minLength: 1, maxLength: 40 }), async (commands) => {
          await withConcern(factory, "sessions", (store) => runCommands(store, commands));
        }),
        { numRuns: runs },
      );
    });
  });
}

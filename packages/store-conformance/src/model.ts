import type { RotateOutcome, SessionRecord, SessionStore } from "@prolong/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DAY, type StoreFactory, sessionRecord, T0, withStore } from "./fixtures.js";

const GRACE = 30_000;
const IDLE = 2 * DAY;

/**
 * A deliberately naive model of the contract in `store.ts`, written from its prose
 * rather than from any store, so a store and the model disagreeing means one of them
 * misreads the contract.
 */
class Model {
  readonly sessions = new Map<string, SessionRecord>();
  /** Revocation changes the store should have appended since the test last read them. */
  pending: { kind: "revoked"; sessionId: string; userId: string; at: number }[] = [];

  revoke(s: SessionRecord, reason: string, now: number): void {
    s.revokedAt = now;
    s.revokedReason = reason;
    this.pending.push({ kind: "revoked", sessionId: s.id, userId: s.userId, at: now });
  }

  rotate(id: string, generation: number, hash: string, successor: string, now: number): RotateOutcome {
    const s = this.sessions.get(id);
    if (!s) return { status: "unknown" };
    if (s.revokedAt !== null) return { status: "revoked", session: { ...s } };
    const expired = now >= s.idleExpiresAt || (s.absoluteExpiresAt !== null && now >= s.absoluteExpiresAt);
    if (expired) return { status: "expired", session: { ...s } };
    if (generation === s.generation && hash === s.currentHash) {
      s.previousHash = s.currentHash;
      s.currentHash = successor;
      s.generation += 1;
      s.rotatedAt = now;
      s.lastActiveAt = now;
      s.idleExpiresAt = s.absoluteExpiresAt === null ? now + IDLE : Math.min(now + IDLE, s.absoluteExpiresAt);
      return { status: "rotated", session: { ...s } };
    }
    const inGrace = s.rotatedAt !== null && now - s.rotatedAt <= GRACE;
    if (generation === s.generation - 1 && hash === s.previousHash && inGrace) {
      return { status: "replayed", session: { ...s } };
    }
    if (generation < s.generation) {
      this.revoke(s, "reuse", now);
      return { status: "reused", session: { ...s } };
    }
    return { status: "unknown" };
  }

  live(now: number): SessionRecord[] {
    return [...this.sessions.values()]
      .filter(
        (s) =>
          s.revokedAt === null &&
          now < s.idleExpiresAt &&
          (s.absoluteExpiresAt === null || now < s.absoluteExpiresAt),
      )
      .sort((a, b) => b.createdAt - a.createdAt);
  }
}

type Presented = "current" | "previous" | "older" | "garbage" | "later";

type Command =
  | { kind: "create"; unlimited: boolean }
  | { kind: "advance"; ms: number }
  | { kind: "rotate"; target: number; presented: Presented }
  | { kind: "revoke"; target: number }
  | { kind: "revokeAll"; except: number }
  | { kind: "touch"; target: number }
  | { kind: "rename"; target: number; name: string }
  | { kind: "list" };

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant("create" as const), unlimited: fc.boolean() }), weight: 2 },
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
      presented: fc.constantFrom<Presented>("current", "current", "previous", "older", "garbage", "later"),
    }),
    weight: 6,
  },
  { arbitrary: fc.record({ kind: fc.constant("revoke" as const), target: fc.nat(5) }), weight: 1 },
  {
    arbitrary: fc.record({ kind: fc.constant("revokeAll" as const), except: fc.nat(6) }),
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
  { arbitrary: fc.constant({ kind: "list" as const }), weight: 1 },
);

/** Hashes by generation, so a command can present "the token before the previous one". */
const hashOf = (id: string, generation: number) => `${id}#${generation}`;

async function runCommands(store: SessionStore, commands: Command[]): Promise<void> {
  const model = new Model();
  const ids: string[] = [];
  let now = T0;
  let cursor: string | null = null;
  const pick = (target: number) => (ids.length === 0 ? "missing" : (ids[target % ids.length] as string));

  for (const [step, command] of commands.entries()) {
    const where = `step ${step}: ${JSON.stringify(command)}`;
    switch (command.kind) {
      case "create": {
        const id = `m${ids.length}`;
        const record = sessionRecord({
          id,
          createdAt: now + ids.length, // distinct, so "newest first" has one answer
          authTime: now,
          lastActiveAt: now,
          idleExpiresAt: now + IDLE,
          absoluteExpiresAt: command.unlimited ? null : now + 3 * DAY,
          currentHash: hashOf(id, 0),
        });
        ids.push(id);
        model.sessions.set(id, { ...record });
        await store.createSession(record);
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
          garbage: current,
          later: current + 1,
        }[command.presented];
        const hash = command.presented === "garbage" ? `${id}#forged` : hashOf(id, generation);
        const successor = hashOf(id, generation + 1);
        if (generation < 0) break;
        const expected = model.rotate(id, generation, hash, successor, now);
        const actual = await store.rotate({
          sessionId: id,
          generation,
          presentedHash: hash,
          successorHash: successor,
          now,
          graceMs: GRACE,
          idleTimeoutMs: IDLE,
        });
        expect(actual, where).toEqual(expected);
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
        // `except` past the last session means "spare none".
        const exceptId = ids[command.except] ?? undefined;
        const revoked = await store.revokeUserSessions("user-1", {
          reason: "logout_everywhere",
          now,
          ...(exceptId === undefined ? {} : { exceptId }),
        });
        const expected = [...model.sessions.values()].filter(
          (s) => s.revokedAt === null && s.id !== exceptId,
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
        const live = s && model.live(now).includes(s);
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
      case "list":
        expect(await store.listSessions("user-1", now), where).toEqual(model.live(now));
        break;
    }
    // The changelog holds exactly the revocations this step made, in order.
    const page = await store.readRevocations({ after: cursor, limit: 1000 });
    expect(
      page.changes.map(({ cursor: _cursor, ...change }) => change),
      `${where}: changelog`,
    ).toEqual(model.pending);
    model.pending = [];
    cursor = page.cursor;
  }
  for (const [id, s] of model.sessions) expect(await store.findSession(id), `final ${id}`).toEqual(s);
}

/** Random sequences of operations against the store and the model, compared after every step. */
export function modelCases(factory: StoreFactory, runs: number): void {
  describe("model-based", () => {
    it("agrees with the model over random operation sequences", async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(commandArb, { minLength: 1, maxLength: 40 }), async (commands) => {
          await withStore(factory, (store) => runCommands(store, commands));
        }),
        { numRuns: runs },
      );
    });
  });
}

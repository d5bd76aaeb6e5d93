import type { SessionRecord, SessionStore } from "@prolong/core";
import { describe, expect, it } from "vitest";
import {
  addSessions,
  DAY,
  MINUTE,
  rotateRequest as request,
  type StoreFactory,
  sessionRecord,
  T0,
  withConcern,
} from "./fixtures.js";

const JKT = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
const OTHER_JKT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
/** A device key as DBSC registers it: a public JWK, as JSON text. */
const DEVICE_KEY = JSON.stringify({
  kty: "EC",
  crv: "P-256",
  x: "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
  y: "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
});

async function stored(store: SessionStore, id: string): Promise<SessionRecord | null> {
  return (await store.readSession(id))?.session ?? null;
}

/**
 * Sessions bound to a key: DPoP (`dpopJkt`, RFC 9449 §5) and DBSC (`deviceKey`): kept as
 * given, the `mismatched` and `unbound` outcomes of `rotate` in their place in its order,
 * what they write and spend, and `registerDeviceKey`.
 */
export function boundSessionCases(factory: StoreFactory): void {
  describe("bound sessions", () => {
    it("keeps a session's DPoP thumbprint and device key as created, through every read and write", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const s = sessionRecord({ dpopJkt: JKT, deviceKey: DEVICE_KEY });
        await addSessions(store, s);
        expect(await stored(store, s.id)).toEqual(s);
        expect(await store.listSessions(s.subjectId, T0)).toEqual([s]);
        const outcome = await store.rotate(request(s, { proofJkt: JKT, deviceBound: true }));
        expect(outcome.status).toBe("rotated");
        expect("session" in outcome && outcome.session).toMatchObject({
          dpopJkt: JKT,
          deviceKey: DEVICE_KEY,
        });
        expect(await store.touchSession(s.id, T0 + 2 * MINUTE, DAY)).toMatchObject({ dpopJkt: JKT });
        expect(await store.renameSession(s.id, "phone")).toMatchObject({
          dpopJkt: JKT,
          deviceKey: DEVICE_KEY,
        });
        expect(await store.revokeSession(s.id, "logout", T0 + 3 * MINUTE)).toMatchObject({
          dpopJkt: JKT,
          deviceKey: DEVICE_KEY,
        });
      });
    });

    it("revokes a DPoP-bound session (key_mismatch) when the refresh lacks a proof of its key, in one step with its change", async () => {
      await withConcern(factory, "sessions", async (store) => {
        for (const proofJkt of [undefined, null, OTHER_JKT]) {
          const s = sessionRecord({ dpopJkt: JKT });
          await addSessions(store, s);
          const now = T0 + MINUTE;
          const outcome = await store.rotate(
            request(s, proofJkt === undefined ? { now } : { now, proofJkt }),
          );
          const revoked = { ...s, revokedAt: now, revokedReason: "key_mismatch" };
          expect(outcome).toEqual({
            status: "mismatched",
            session: revoked,
            subject: await store.findSubject(s.subjectId),
          });
          expect(await stored(store, s.id)).toEqual(revoked);
        }
        const changes = (await store.readRevocations({ after: null, limit: 10 })).changes;
        expect(changes).toHaveLength(3);
        expect(changes).toMatchObject(changes.map(() => ({ kind: "revoked", at: T0 + MINUTE })));
      });
    });

    it("checks the key after the client, revoked and expired checks, and before the token itself", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const revoked = sessionRecord({ dpopJkt: JKT, revokedAt: T0, revokedReason: "logout" });
        const expired = sessionRecord({ dpopJkt: JKT, idleExpiresAt: T0 + 1 });
        const live = sessionRecord({ dpopJkt: JKT });
        await addSessions(store, revoked, expired, live);
        expect((await store.rotate(request(revoked))).status).toBe("revoked");
        expect((await store.rotate(request(expired))).status).toBe("expired");
        // Another client's presentation touches nothing, bound or not (RFC 6749 §6).
        expect(await store.rotate(request(live, { clientId: "native" }))).toEqual({ status: "unknown" });
        expect(await stored(store, live.id)).toEqual(live);
        // A token that would be unknown, or reuse, is still revoked as key_mismatch without the key.
        const outcome = await store.rotate(request(live, { generation: 5, presentedHash: "forged" }));
        expect(outcome.status).toBe("mismatched");
        expect((await stored(store, live.id))?.revokedReason).toBe("key_mismatch");
      });
    });

    it("rotates a DPoP-bound session with a proof of its key, and ignores a proof on an unbound one", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const bound = sessionRecord({ dpopJkt: JKT });
        const unbound = sessionRecord();
        await addSessions(store, bound, unbound);
        const outcome = await store.rotate(request(bound, { proofJkt: JKT }));
        expect(outcome.status).toBe("rotated");
        // A grace-window replay needs the key as well.
        expect((await store.rotate(request(bound, { proofJkt: JKT, now: T0 + MINUTE + 1 }))).status).toBe(
          "replayed",
        );
        expect((await store.rotate(request(unbound, { proofJkt: OTHER_JKT }))).status).toBe("rotated");
        expect((await store.readRevocations({ after: null, limit: 10 })).changes).toEqual([]);
      });
    });

    it("answers unbound to a device-bound session refreshed without its bound cookie, and writes nothing", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const s = sessionRecord({ deviceKey: DEVICE_KEY });
        await addSessions(store, s);
        expect(await store.rotate(request(s))).toEqual({ status: "unbound" });
        expect(await store.rotate(request(s, { deviceBound: false }))).toEqual({ status: "unbound" });
        // Not even an old token counts as reuse: the session is untouched.
        expect(await store.rotate(request(s, { generation: 0, presentedHash: "x" }))).toEqual({
          status: "unbound",
        });
        expect(await stored(store, s.id)).toEqual(s);
        expect((await store.readRevocations({ after: null, limit: 10 })).changes).toEqual([]);
        expect((await store.rotate(request(s, { deviceBound: true }))).status).toBe("rotated");
      });
    });

    it("checks the DPoP key before the device binding", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const s = sessionRecord({ dpopJkt: JKT, deviceKey: DEVICE_KEY });
        const t = sessionRecord({ dpopJkt: JKT, deviceKey: DEVICE_KEY });
        await addSessions(store, s, t);
        expect(await store.rotate(request(s, { proofJkt: JKT }))).toEqual({ status: "unbound" });
        expect((await store.rotate(request(s, { deviceBound: true }))).status).toBe("mismatched");
        expect((await store.rotate(request(t, { proofJkt: JKT, deviceBound: true }))).status).toBe("rotated");
      });
    });

    it("counts mismatched and unbound presentations against the grant budget", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const budget = { max: 2, windowMs: MINUTE };
        const device = sessionRecord({ deviceKey: DEVICE_KEY });
        await addSessions(store, device);
        const now = T0 + MINUTE;
        expect((await store.rotate(request(device, { now, budget }))).status).toBe("unbound");
        expect((await store.rotate(request(device, { now, budget }))).status).toBe("unbound");
        expect(await store.rotate(request(device, { now, budget, deviceBound: true }))).toEqual({
          status: "limited",
          resetAt: now + MINUTE,
        });
        const bound = sessionRecord({ dpopJkt: JKT });
        await addSessions(store, bound);
        const one = { max: 1, windowMs: MINUTE };
        expect((await store.rotate(request(bound, { now, budget: one }))).status).toBe("mismatched");
        expect(await store.rotate(request(bound, { now, budget: one }))).toEqual({
          status: "limited",
          resetAt: now + MINUTE,
        });
      });
    });

    it("registers a device key once, on a live session only", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const s = sessionRecord();
        const revoked = sessionRecord({ revokedAt: T0, revokedReason: "logout" });
        const expired = sessionRecord({ idleExpiresAt: T0 + MINUTE });
        await addSessions(store, s, revoked, expired);
        expect(await store.registerDeviceKey(s.id, DEVICE_KEY, T0 + 1)).toBe("registered");
        expect(await stored(store, s.id)).toEqual({ ...s, deviceKey: DEVICE_KEY });
        expect(await store.registerDeviceKey(s.id, '{"kty":"EC","other":true}', T0 + 2)).toBe("taken");
        expect((await stored(store, s.id))?.deviceKey).toBe(DEVICE_KEY);
        expect(await store.registerDeviceKey(revoked.id, DEVICE_KEY, T0 + 1)).toBe("missing");
        expect(await store.registerDeviceKey(expired.id, DEVICE_KEY, T0 + MINUTE)).toBe("missing");
        expect(await store.registerDeviceKey("no-such-session", DEVICE_KEY, T0 + 1)).toBe("missing");
        expect((await stored(store, revoked.id))?.deviceKey).toBeNull();
        expect((await stored(store, expired.id))?.deviceKey).toBeNull();
        // From now on the session refreshes only with its bound cookie.
        expect(await store.rotate(request(s))).toEqual({ status: "unbound" });
      });
    });

    it("lets exactly one of racing registrations of one session win", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const s = sessionRecord();
        await addSessions(store, s);
        const keys = Array.from({ length: 20 }, (_, i) => JSON.stringify({ kty: "EC", n: i }));
        const answers = await Promise.all(keys.map((key) => store.registerDeviceKey(s.id, key, T0 + 1)));
        expect(answers.filter((a) => a === "registered")).toHaveLength(1);
        expect(answers.filter((a) => a === "taken")).toHaveLength(19);
        const winner = keys[answers.indexOf("registered")];
        expect((await stored(store, s.id))?.deviceKey).toBe(winner);
      });
    });
  });
}

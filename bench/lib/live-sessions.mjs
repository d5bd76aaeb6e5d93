// The live sessions the store benches fill stores with, shaped as a browser or app
// sign-in leaves them: random-looking 128-bit ids (as randomId makes; ids in random order
// are what a primary key really gets), a 111-character user agent, an IPv4 address, no
// device name, two sessions per subject. Ids are derived from the session's index, so a
// bench can name any session again without holding a million of them.
import { createHash } from "node:crypto";

const SESSIONS_PER_SUBJECT = 2;

const USER_AGENT =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

/**
 * 16 bytes of SHA-256 of `text`, base64url: an id of the engine's shape (22 characters).
 * @param {string} text
 */
const idOf = (text) => createHash("sha256").update(text).digest().subarray(0, 16).toString("base64url");

export const sessionIdOf = (/** @type {number} */ i) => idOf(`session ${i}`);
export const subjectIdOf = (/** @type {number} */ j) => idOf(`subject ${j}`);

/**
 * A session's refresh-token state.
 * @typedef {Pick<import("@prolong/core").SessionRecord, "generation" | "currentHash" | "previousHash" | "rotatedAt">} TokenState
 */

/**
 * A population (store-targets.mjs) of `count` live sessions of `clientId`, signed in an
 * hour before `now` under `profile`'s idle timeout and absolute lifetime (seconds, as
 * the policy has them). `tokenAt(i)` gives the i-th session's refresh-token state:
 * `{ generation, currentHash, previousHash, rotatedAt }`.
 * @param {number} count
 * @param {{ now: number, clientId: string,
 *   profile: { idleTimeout: number, absoluteLifetime: number | null },
 *   tokenAt: (i: number) => TokenState }} how
 * @returns {import("./store-targets.mjs").Population}
 */
export function livePopulation(count, { now, clientId, profile, tokenAt }) {
  const subjects = Math.ceil(count / SESSIONS_PER_SUBJECT);
  const signedIn = now - 3_600_000;
  const absoluteExpiresAt =
    profile.absoluteLifetime === null ? null : signedIn + profile.absoluteLifetime * 1000;
  return {
    sessions: count,
    subjects,
    now,
    subjectAt: subjectIdOf,
    /** @param {number} i */
    sessionAt(i) {
      const token = tokenAt(i);
      const lastActiveAt = token.rotatedAt ?? signedIn;
      const idle = lastActiveAt + profile.idleTimeout * 1000;
      return {
        id: sessionIdOf(i),
        subjectId: subjectIdOf(i % subjects),
        clientId,
        deviceName: null,
        userAgent: USER_AGENT,
        ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
        createdAt: signedIn,
        authTime: signedIn,
        lastActiveAt,
        idleExpiresAt: absoluteExpiresAt === null ? idle : Math.min(idle, absoluteExpiresAt),
        absoluteExpiresAt,
        tokenVersion: 0,
        generation: token.generation,
        currentHash: token.currentHash,
        previousHash: token.previousHash,
        rotatedAt: token.rotatedAt,
        revokedAt: null,
        revokedReason: null,
        dpopJkt: null,
        deviceKey: null,
        acr: null,
        amr: null,
        actor: null,
      };
    },
  };
}

/**
 * The order a bench visits sessions in: 0, s, 2s, … modulo `count`, with a step s
 * coprime to `count`, so every session comes once per lap, spread over the whole table
 * (and, ids being random, over the whole index) rather than in insertion order.
 * @param {number} count
 */
export function visitingOrder(count) {
  /** @type {(a: number, b: number) => number} */
  const gcd = (a, b) => (b === 0 ? a : gcd(b, a % b));
  let step = 7919;
  while (gcd(step, count) !== 1) step += 2;
  let cursor = 0;
  return () => {
    const i = (cursor * step) % count;
    cursor = (cursor + 1) % count;
    return i;
  };
}

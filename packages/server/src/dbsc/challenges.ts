import { randomBytes } from "node:crypto";
import { ServerMac } from "../server-mac.js";

/*
 * DBSC challenges (docs/bound-sessions.md, "Browsers: DBSC"): the nonce a browser signs
 * when it registers its key or renews its bound cookie. They are stateless, so any
 * instance on the store can check one another issued, and single use: whoever consumes
 * one claims its nonce in the store's replay concern first.
 *
 * One challenge (at most 360 characters):
 *
 *   session . expires . nonce . tag
 *
 * - session: the session id, base64url (the registration request carries no cookie of
 *   the session, so the challenge names it).
 * - expires: whole seconds since the epoch (decimal).
 * - nonce: 16 random bytes, base64url; what the replay concern remembers.
 * - tag: HMAC-SHA-256(K, label | session | expires | nonce), first 16 bytes, base64url.
 *
 * Every character is one a Structured Field string may hold (RFC 8941 §3.3.3), as the
 * DBSC headers carry it.
 */

const TAG_LABEL = "prolong dbsc challenge\0";
const NONCE_BYTES = 16;

/** How long a browser has to answer a challenge: it answers at once, a slow network aside. */
export const CHALLENGE_LIFETIME_SECONDS = 120;

const CHALLENGE = /^([A-Za-z0-9_-]{1,270})\.([0-9]{1,12})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{22})$/;

/** A challenge whose tag checked out and whose time has not run out. */
export interface OpenedChallenge {
  sessionId: string;
  /** The key it is claimed under, once. */
  nonce: string;
  /** When it stops being accepted, ms since the epoch. */
  expiresAt: number;
}

/** Issues and opens challenges under one server key (kept in the store, `sharedSecret`). */
export class DbscChallenges {
  readonly #mac: ServerMac;
  readonly #now: () => number;

  constructor(secret: Uint8Array, now: () => number) {
    this.#mac = new ServerMac(secret, "DBSC challenge");
    this.#now = now;
  }

  /** A fresh challenge for `sessionId`. */
  issue(sessionId: string): string {
    const session = Buffer.from(sessionId, "utf8").toString("base64url");
    const expires = String(Math.floor(this.#now() / 1000) + CHALLENGE_LIFETIME_SECONDS);
    const nonce = randomBytes(NONCE_BYTES).toString("base64url");
    return `${session}.${expires}.${nonce}.${this.#mac.tag(this.#tagged(session, expires, nonce))}`;
  }

  /** `null` unless `challenge` is one of ours and still in time; whether it was used is the caller's claim. */
  open(challenge: string): OpenedChallenge | null {
    const match = CHALLENGE.exec(challenge);
    if (!match) return null;
    const [, session, expires, nonce, tag] = match as unknown as [string, string, string, string, string];
    const expiresAt = Number(expires) * 1000;
    if (expiresAt <= this.#now()) return null;
    if (!this.#mac.matches(this.#tagged(session, expires, nonce), tag)) return null;
    return { sessionId: Buffer.from(session, "base64url").toString("utf8"), nonce, expiresAt };
  }

  /** What the tag is over: the label and the challenge's other parts. */
  #tagged(session: string, expires: string, nonce: string): string {
    return `${TAG_LABEL}${session}.${expires}.${nonce}`;
  }
}

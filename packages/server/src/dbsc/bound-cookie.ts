import { DBSC_COOKIE } from "@prolong/protocol";
import { ServerMac } from "../server-mac.js";

/*
 * The DBSC bound cookie (docs/bound-sessions.md, "Browsers: DBSC"): proof, for a while,
 * that the browser presenting a session's refresh cookie still holds the key it
 * registered. The browser renews it by signing a challenge with that key; a copy taken
 * to another device stops working when it expires, since only the key renews it.
 *
 * Its value:
 *
 *   expires . tag
 *
 * - expires: whole seconds since the epoch (decimal). Checked by the server, not only
 *   by the browser's Max-Age: a copied cookie is sent as long as its thief likes.
 * - tag: HMAC-SHA-256(K, label | session | expires), first 16 bytes, base64url. The
 *   session is under the MAC but not in the cookie: one session's cookie is worth
 *   nothing for another.
 *
 * A `__Host-` cookie on `Path=/` (RFC 6265bis §4.1.3.2), as DBSC scopes a session to the
 * whole origin: the browser holds every request there until the cookie is renewed.
 */

const TAG_LABEL = "prolong dbsc cookie\0";
const VALUE = /^([0-9]{1,12})\.([A-Za-z0-9_-]{22})$/;

/** The attributes of the cookie, as its `Set-Cookie` and the session configuration say them. */
export const BOUND_COOKIE_ATTRIBUTES = "Path=/; Secure; HttpOnly; SameSite=Lax";

/** Issues and checks bound cookies under one server key (kept in the store, `sharedSecret`). */
export class BoundCookies {
  readonly name = DBSC_COOKIE;
  readonly #mac: ServerMac;
  readonly #now: () => number;

  constructor(secret: Uint8Array, now: () => number) {
    this.#mac = new ServerMac(secret, "DBSC cookie");
    this.#now = now;
  }

  /** The `Set-Cookie` of a fresh cookie for `sessionId`, living `lifetimeSeconds`. */
  issue(sessionId: string, lifetimeSeconds: number): string {
    const expires = String(Math.floor(this.#now() / 1000) + lifetimeSeconds);
    const value = `${expires}.${this.#mac.tag(this.#tagged(sessionId, expires))}`;
    return `${this.name}=${value}; Max-Age=${lifetimeSeconds}; ${BOUND_COOKIE_ATTRIBUTES}`;
  }

  /** Whether `value` is an unexpired cookie issued for `sessionId`. */
  vouches(value: string | undefined, sessionId: string): boolean {
    const match = value === undefined ? null : VALUE.exec(value);
    if (!match) return false;
    const [, expires, tag] = match as unknown as [string, string, string];
    if (Number(expires) * 1000 <= this.#now()) return false;
    return this.#mac.matches(this.#tagged(sessionId, expires), tag);
  }

  /** The `Set-Cookie` that removes it, for a session that is over. */
  cleared(): string {
    return `${this.name}=; Max-Age=0; ${BOUND_COOKIE_ATTRIBUTES}`;
  }

  /** What the tag is over: the label, the session and the expiry. */
  #tagged(sessionId: string, expires: string): string {
    return `${TAG_LABEL}${sessionId}\0${expires}`;
  }
}

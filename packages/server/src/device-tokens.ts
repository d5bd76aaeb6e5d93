import { randomBytes } from "node:crypto";
import { ServerMac } from "./server-mac.js";

/*
 * Device tokens: proof that a browser or an app signed in to an account before, so its
 * sign-ins are not slowed down by other clients' wrong passwords on the same address
 * (limits.ts). They follow OWASP's "Slow Down Online Guessing Attacks with Device
 * Cookies": a token names the account it was issued for and is MACed with a server
 * key, and a token that keeps failing is locked by a budget of its own.
 *
 * One token (91 characters at most, never a JWT):
 *
 *   id . expires . tag
 *
 * - id: 16 random bytes, base64url; the token's own failure budget is counted under it.
 * - expires: when it stops counting, in whole seconds since the epoch (decimal).
 * - tag: HMAC-SHA-256(K, label | id | expires | account), first 16 bytes, base64url. The
 *   account is under the MAC but not in the token, so a token read from a disk names
 *   nobody, and one issued to mallory is worth nothing for alice.
 *
 * A browser may hold tokens for several accounts (people sharing a computer); the cookie
 * holds up to MAX_HELD of them, newest first, separated by `~`.
 */

const TAG_LABEL = "prolong device token\0";
const ID_BYTES = 16;
/** Tokens kept in one cookie: a household's accounts, not a directory. */
export const MAX_HELD = 5;
/** How long a token counts after its last successful sign-in: a year, renewed at each one. */
export const DEVICE_TOKEN_LIFETIME_SECONDS = 365 * 86_400;

const TOKEN = /^([A-Za-z0-9_-]{22})\.([0-9]{1,12})\.([A-Za-z0-9_-]{22})$/;

/** A token that checked out for the account presenting it. */
export interface DeviceToken {
  /** The key its failure budget is counted under. */
  readonly id: string;
}

/** Issues and checks device tokens under one server key (kept in the store, `sharedSecret`). */
export class DeviceTokens {
  readonly #mac: ServerMac;
  readonly #now: () => number;

  constructor(secret: Uint8Array, now: () => number) {
    this.#mac = new ServerMac(secret, "device-token");
    this.#now = now;
  }

  /** A new token for `account`, valid for {@link DEVICE_TOKEN_LIFETIME_SECONDS}. */
  issue(account: string): string {
    const id = randomBytes(ID_BYTES).toString("base64url");
    const expires = String(Math.floor(this.#now() / 1000) + DEVICE_TOKEN_LIFETIME_SECONDS);
    return `${id}.${expires}.${this.#mac.tag(this.#tagged(id, expires, account))}`;
  }

  /**
   * The first of `presented` that was issued for `account` and has not expired; `null`
   * when none is (absent, expired, altered, forged or another account's).
   */
  find(account: string, presented: readonly string[]): DeviceToken | null {
    const now = this.#now() / 1000;
    for (const token of presented) {
      const match = TOKEN.exec(token);
      if (!match) continue;
      const [, id, expires, tag] = match as unknown as [string, string, string, string];
      if (Number(expires) <= now) continue;
      if (this.#mac.matches(this.#tagged(id, expires, account), tag)) return { id };
    }
    return null;
  }

  /**
   * What a browser keeps after `account` signed in with `fresh`: `fresh` first, then the
   * tokens it held for other accounts that are still well-formed and unexpired, at most
   * {@link MAX_HELD} in all. The account's own older tokens are dropped.
   */
  held(account: string, fresh: string, presented: readonly string[]): string[] {
    const now = this.#now() / 1000;
    const others = presented.filter((token) => {
      const match = TOKEN.exec(token);
      return match !== null && Number(match[2]) > now && this.find(account, [token]) === null;
    });
    return [fresh, ...new Set(others)].slice(0, MAX_HELD);
  }

  /** What the tag is over: the label, the token's id and expiry, and the account. */
  #tagged(id: string, expires: string, account: string): string {
    return `${TAG_LABEL}${id}.${expires}\0${account}`;
  }
}

/** Splits a device cookie's value (or a body's `device_token`) into its tokens; bounded. */
export function tokensIn(value: string | undefined): string[] {
  if (!value) return [];
  return value.split("~", MAX_HELD + 1).slice(0, MAX_HELD);
}

/**
 * Where browsers keep their device tokens (docs/security.md, "Device tokens"): httpOnly
 * (scripts, an XSS among them, cannot read it), Secure and SameSite=Strict like the
 * refresh cookie. With the issuer at the root of its origin it is a `__Host-` cookie
 * (RFC 6265bis §4.1.3.2: no Domain, Path=/, so a sibling subdomain cannot plant or
 * shadow it); under a path it is a `__Secure-` cookie sent to the login route only,
 * never to the host application's other routes.
 */
export interface DeviceCookie {
  readonly name: string;
  readonly path: string;
}

export function deviceCookieFor(issuer: string, loginPath: string): DeviceCookie {
  const base = new URL(issuer).pathname.replace(/\/+$/, "");
  return base === ""
    ? { name: "__Host-prolong-device", path: "/" }
    : { name: "__Secure-prolong-device", path: `${base}${loginPath}` };
}

/** The `Set-Cookie` value that stores `tokens` for a year. */
export function deviceCookieHeader(cookie: DeviceCookie, tokens: readonly string[]): string {
  return `${cookie.name}=${tokens.join("~")}; Path=${cookie.path}; Max-Age=${DEVICE_TOKEN_LIFETIME_SECONDS}; HttpOnly; Secure; SameSite=Strict`;
}

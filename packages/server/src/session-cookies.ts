import { ProlongError } from "@prolong/core";
import { ACCESS_COOKIE, REFRESH_COOKIE, REFRESH_COOKIE_PATH, SSR_REFRESH_COOKIE } from "@prolong/protocol";
import { isUnderMountPath } from "./mount-path.js";

/** What `cookies` in the configuration says (config.ts); every field optional. */
export interface CookieSettings {
  access?: boolean | { name?: string | undefined; path?: string | undefined } | undefined;
  refresh?: { name?: string | undefined; path?: string | undefined; sameSite?: "strict" | "lax" | undefined };
}

/**
 * Browsers drop a cookie whose name, value and attributes pass 4096 bytes (RFC 6265bis
 * §5.6), silently: an access cookie that long would look like no session at all.
 */
export const MAX_COOKIE_BYTES = 4096;

/** The tokens a web client's answer carries into cookies. */
export interface CookieTokens {
  accessToken: string;
  /** Seconds the access token lives: its cookie lives as long. */
  expiresIn: number;
  /** `null` for a straggler (docs/protocol.md, "Rotation: replays and stragglers"): its cookie stays. */
  refreshToken: string | null;
  /** Seconds the session can still live: the refresh cookie lives as long. */
  sessionLeft: number;
}

/**
 * The cookies of web clients (docs/protocol.md, "Web profile: the refresh cookie"). By
 * default only the refresh token is a cookie, sent to the OAuth endpoints alone. With the
 * access cookie on, for server-rendered apps (docs/ssr.md), both are on `Path=/` so the
 * app's server sees the session on every page request and its middleware can renew
 * before rendering; `SameSite=Lax` keeps a user who follows a link from another site
 * signed in on that first render, while cross-site POSTs (the token endpoint) still go
 * without them.
 */
export interface SessionCookies {
  /** The refresh cookie's name, as the token and revocation endpoints read it. */
  readonly refreshName: string;
  /** `Set-Cookie` values for a web client's token answer. */
  issued(tokens: CookieTokens): string[];
  /** `Set-Cookie` values that end the session in this browser. */
  cleared(): string[];
}

interface Cookie {
  name: string;
  path: string;
  sameSite: "Strict" | "Lax";
}

/** Builds the cookies for an issuer, refusing names and paths a browser would not honour. */
export function sessionCookies(issuer: string, settings: CookieSettings = {}): SessionCookies {
  const issuerPath = new URL(issuer).pathname.replace(/\/+$/, "");
  const access = settings.access
    ? {
        name: (typeof settings.access === "object" && settings.access.name) || ACCESS_COOKIE,
        path: (typeof settings.access === "object" && settings.access.path) || "/",
        sameSite: "Lax" as const,
      }
    : null;
  const refresh: Cookie = {
    name: settings.refresh?.name ?? (access ? SSR_REFRESH_COOKIE : REFRESH_COOKIE),
    path: settings.refresh?.path ?? (access ? "/" : `${issuerPath}${REFRESH_COOKIE_PATH}`),
    sameSite: (settings.refresh?.sameSite ?? (access ? "lax" : "strict")) === "lax" ? "Lax" : "Strict",
  };
  checkPrefix("cookies.refresh", refresh);
  if (access) {
    checkPrefix("cookies.access", access);
    if (access.name === refresh.name)
      throw new ProlongError(
        "invalid_config",
        "cookies.access.name: must differ from the refresh cookie's name",
      );
  }
  // RFC 6265 §5.1.4: the cookie is sent where its path is a prefix ending at a `/`, the
  // rule prolong's own paths follow under the issuer's.
  const tokenPath = `${issuerPath}${REFRESH_COOKIE_PATH}/token`;
  if (!isUnderMountPath(tokenPath, refresh.path.replace(/\/+$/, "")))
    throw new ProlongError(
      "invalid_config",
      `cookies.refresh.path: ${refresh.path} does not cover the token endpoint (${tokenPath}), which would never receive the cookie`,
    );

  const set = (cookie: Cookie, value: string, maxAge: number) =>
    `${cookie.name}=${value}; Path=${cookie.path}; Max-Age=${Math.max(0, Math.floor(maxAge))}; HttpOnly; Secure; SameSite=${cookie.sameSite}`;
  return {
    refreshName: refresh.name,
    issued(tokens) {
      const cookies: string[] = [];
      if (tokens.refreshToken !== null) cookies.push(set(refresh, tokens.refreshToken, tokens.sessionLeft));
      if (access) {
        const cookie = set(access, tokens.accessToken, tokens.expiresIn);
        if (cookie.length > MAX_COOKIE_BYTES)
          throw new ProlongError(
            "invalid_config",
            `cookies.access: the access token makes a ${cookie.length}-byte cookie, past the ${MAX_COOKIE_BYTES} bytes browsers keep; keep the claims hook's claims small`,
          );
        cookies.push(cookie);
      }
      return cookies;
    },
    cleared() {
      return [refresh, ...(access ? [access] : [])].map((cookie) => set(cookie, "", 0));
    },
  };
}

/** RFC 6265bis §4.1.3: `__Host-` needs `Path=/` (and no Domain, which prolong never sets). */
function checkPrefix(setting: string, cookie: Cookie): void {
  if (cookie.name.startsWith("__Host-") && cookie.path !== "/")
    throw new ProlongError(
      "invalid_config",
      `${setting}.path: a __Host- cookie must have the path /, not ${cookie.path} (browsers refuse it)`,
    );
}

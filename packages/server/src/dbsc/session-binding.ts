import type { AccessGrant, SessionEngine } from "@prolong/core";
import { DBSC_COOKIE } from "@prolong/protocol";
import { BOUND_COOKIE_ATTRIBUTES, BoundCookies } from "./bound-cookie.js";
import { DbscChallenges } from "./challenges.js";
import { DBSC_ALG } from "./proof.js";

/** Where the two DBSC routes are, under the issuer's path. */
export const DBSC_PATHS = { register: "/dbsc/register", refresh: "/dbsc/refresh" } as const;

/**
 * DBSC as one server answers it (docs/bound-sessions.md, "Browsers: DBSC"): its
 * challenges and bound cookies, each under a key kept in the store so every instance
 * agrees, and the public paths and scope browsers are told.
 */
export interface SessionBinding {
  challenges: DbscChallenges;
  cookies: BoundCookies;
  /** The `Secure-Session-Registration` value of a sign-in's answer, `null` when its profile has DBSC off. */
  registration(grant: Pick<AccessGrant, "sessionId" | "profile">): string | null;
  /** The session configuration answered at registration and refresh (the DBSC draft's JSON). */
  sessionConfig(sessionId: string): DbscSessionConfig;
}

/** The session configuration of the DBSC draft, as Chromium reads it. */
export interface DbscSessionConfig {
  session_identifier: string;
  refresh_url: string;
  scope: { origin: string; include_site: boolean; scope_specification: never[] };
  credentials: { type: "cookie"; name: string; attributes: string }[];
}

export async function sessionBinding(engine: SessionEngine, issuer: string): Promise<SessionBinding> {
  const now = () => engine.now();
  const challenges = new DbscChallenges(await engine.sharedSecret("dbsc-challenge-mac"), now);
  const cookies = new BoundCookies(await engine.sharedSecret("dbsc-cookie-mac"), now);
  const url = new URL(issuer);
  const base = url.pathname.replace(/\/+$/, "");
  return {
    challenges,
    cookies,
    registration(grant) {
      if (!grant.profile.dbsc.enabled) return null;
      // The draft's header: the algorithms we take, the path to POST the key to, a challenge.
      return `(${DBSC_ALG});path="${base}${DBSC_PATHS.register}";challenge="${challenges.issue(grant.sessionId)}"`;
    },
    sessionConfig(sessionId) {
      return {
        session_identifier: sessionId,
        refresh_url: `${base}${DBSC_PATHS.refresh}`,
        // The whole origin: the refresh cookie's path and the app's pages alike.
        scope: { origin: url.origin, include_site: false, scope_specification: [] },
        credentials: [{ type: "cookie", name: DBSC_COOKIE, attributes: BOUND_COOKIE_ATTRIBUTES }],
      };
    },
  };
}

import { DPOP_MODES, type DpopMode } from "@prolong/protocol";
import { ProlongError } from "./errors.js";

/** How the refresh token reaches a client (docs/protocol.md, web profile). */
export type RefreshTransport = "cookie" | "body";

/** Session rules of one kind of client. All durations are in seconds. */
export interface Profile {
  /** Lifetime of an access token. */
  accessTokenTtl: number;
  /** Fraction of the access-token lifetime after which `rfa` (refresh-after) falls. */
  refreshAfterRatio: number;
  /** A session with no refresh for this long ends (P2). */
  idleTimeout: number;
  /** A session ends this long after sign-in whatever happens (P3); `null` for unlimited. */
  absoluteLifetime: number | null;
  /** How long a rotated refresh token may be replayed to receive the same successor (P5). */
  graceWindow: number;
  refreshTransport: RefreshTransport;
  /**
   * Whether clients of this profile may use the stateless exchange (P10, RFC 8693): an
   * access token buys another without a refresh token. Off by default, and only allowed
   * with an absolute lifetime, or a copied access token could be renewed forever.
   */
  exchange: boolean;
  /** Device Bound Session Credentials for the profile's browsers (docs/bound-sessions.md). */
  dbsc: DbscSettings;
  /**
   * DPoP (RFC 9449, docs/bound-sessions.md): `off` ignores proofs; `allowed` binds a
   * session to the key of the proof its sign-in came with, and any access token to the
   * key of the proof its request came with; `required` also refuses every sign-in, grant
   * and revocation without a proof.
   */
  dpop: DpopMode;
  /**
   * How many sessions a subject may hold at once with the profile's clients
   * (docs/session-policies.md, "Device limits"), or `null` for no limit (the default).
   */
  maxSessions: SessionCap | null;
}

/**
 * A device limit: at most `max` live sessions of one subject across the clients of a
 * profile. A sign-in over it either ends the least recently active session (`evict`) or
 * is refused with `session_limit` (`refuse`). Impersonation sessions neither count nor
 * are evicted.
 */
export interface SessionCap {
  max: number;
  onLimit: "evict" | "refuse";
}

/** The largest `maxSessions.max`: enough for any person's devices, small enough to count in one transaction. */
export const MAX_SESSIONS_CEILING = 1000;

/**
 * DBSC (W3C webappsec-dbsc draft): a browser that supports it registers a key of its own
 * at sign-in, and from then on the session refreshes only with a short-lived cookie the
 * browser renews by signing a challenge with that key, so copied cookies stop working on
 * another device once that cookie expires (docs/bound-sessions.md, "Browsers: DBSC").
 */
export interface DbscSettings {
  /** Asks browsers to register a key at sign-in; only for profiles whose refresh token is a cookie. */
  enabled: boolean;
  /** Lifetime of the bound cookie: how long a copied one keeps working elsewhere. */
  cookieLifetimeSeconds: number;
}

/** The DBSC settings of both default profiles: off, and a ten-minute bound cookie when turned on. */
const dbscOff: DbscSettings = { enabled: false, cookieLifetimeSeconds: 600 };

export interface ClientConfig {
  profile: string;
}

/** Profiles by name and registered clients by `client_id`. */
export interface Policy {
  profiles: Record<string, Profile>;
  clients: Record<string, ClientConfig>;
  /** Client used when a sign-in names none. */
  defaultClientId: string;
}

const DAY = 86_400;

export const webProfile: Profile = {
  accessTokenTtl: 300,
  refreshAfterRatio: 0.8,
  idleTimeout: 7 * DAY,
  absoluteLifetime: 30 * DAY,
  graceWindow: 30,
  refreshTransport: "cookie",
  exchange: false,
  dbsc: dbscOff,
  dpop: "off",
  maxSessions: null,
};

export const nativeProfile: Profile = {
  accessTokenTtl: 300,
  refreshAfterRatio: 0.8,
  idleTimeout: 90 * DAY,
  absoluteLifetime: null,
  graceWindow: 30,
  refreshTransport: "body",
  exchange: false,
  dbsc: dbscOff,
  dpop: "off",
  maxSessions: null,
};

/** The default policy: public clients `web` and `native`. */
export function defaultPolicy(): Policy {
  return {
    profiles: {
      web: { ...webProfile, dbsc: { ...dbscOff } },
      native: { ...nativeProfile, dbsc: { ...dbscOff } },
    },
    clients: { web: { profile: "web" }, native: { profile: "native" } },
    defaultClientId: "web",
  };
}

/** Resolves the profile of a client, or throws `invalid_client`. */
export function profileOf(policy: Policy, clientId: string): Profile {
  const client = Object.hasOwn(policy.clients, clientId) ? policy.clients[clientId] : undefined;
  const profile =
    client && Object.hasOwn(policy.profiles, client.profile) ? policy.profiles[client.profile] : undefined;
  if (!profile) throw new ProlongError("invalid_client", `unknown client_id "${clientId}"`);
  return profile;
}

/** The longest access-token lifetime of any profile: how long a retired key must stay verifiable. */
export function longestAccessTokenTtl(policy: Policy): number {
  return Math.max(...Object.values(policy.profiles).map((p) => p.accessTokenTtl));
}

/**
 * The range of each duration of a profile, in whole seconds (`exp` and `iat` are whole
 * seconds, RFC 7519 §2). The maxima keep every deadline well inside what a date can
 * hold, and keep a bearer token's life short enough for revocation to matter.
 */
export const profileBounds = {
  accessTokenTtl: { min: 1, max: DAY, note: "1 day" },
  idleTimeout: { min: 1, max: 3650 * DAY, note: "10 years" },
  absoluteLifetime: { min: 1, max: 3650 * DAY, note: "10 years" },
  graceWindow: { min: 0, max: 3600, note: "1 hour" },
  "dbsc.cookieLifetimeSeconds": { min: 1, max: DAY, note: "1 day" },
} as const;

type Duration = keyof typeof profileBounds;

/** The range of a profile's `refreshAfterRatio`: above 0 (a refresh before any use is none), at most 1. */
export const refreshAfterRatioRange = { above: 0, max: 1 } as const;

/** Why a duration is out of its bounds, or `null` when it is in them. */
export function durationProblem(setting: Duration, value: number): string | null {
  const { min, max, note } = profileBounds[setting];
  if (!Number.isInteger(value)) return "must be a whole number of seconds";
  if (value < min) return `must be at least ${min} s`;
  if (value > max) return `must be at most ${max} s (${note})`;
  return null;
}

/** Throws `invalid_config`, naming the setting, when a policy cannot work. */
export function validatePolicy(policy: Policy): void {
  const fail = (setting: string, why: string) => {
    throw new ProlongError("invalid_config", `${setting}: ${why}`);
  };
  const duration = (profile: string, setting: Duration, value: number) => {
    const problem = durationProblem(setting, value);
    if (problem) fail(`profiles.${profile}.${setting}`, problem);
  };
  for (const [name, p] of Object.entries(policy.profiles)) {
    duration(name, "accessTokenTtl", p.accessTokenTtl);
    duration(name, "idleTimeout", p.idleTimeout);
    if (p.absoluteLifetime !== null) duration(name, "absoluteLifetime", p.absoluteLifetime);
    duration(name, "graceWindow", p.graceWindow);
    const ratio = refreshAfterRatioRange;
    if (!(p.refreshAfterRatio > ratio.above && p.refreshAfterRatio <= ratio.max)) {
      fail(`profiles.${name}.refreshAfterRatio`, `must be in (${ratio.above}, ${ratio.max}]`);
    }
    if (p.refreshTransport !== "cookie" && p.refreshTransport !== "body") {
      fail(`profiles.${name}.refreshTransport`, 'must be "cookie" or "body"');
    }
    if (typeof p.exchange !== "boolean") fail(`profiles.${name}.exchange`, "must be true or false");
    if (typeof p.dbsc?.enabled !== "boolean") fail(`profiles.${name}.dbsc.enabled`, "must be true or false");
    duration(name, "dbsc.cookieLifetimeSeconds", p.dbsc.cookieLifetimeSeconds);
    // The bound cookie guards the refresh cookie; a token in a body has no cookie to guard.
    if (p.dbsc.enabled && p.refreshTransport !== "cookie") {
      fail(`profiles.${name}.dbsc.enabled`, 'needs refreshTransport "cookie": DBSC binds browser cookies');
    }
    if (!DPOP_MODES.includes(p.dpop)) {
      fail(`profiles.${name}.dpop`, 'must be "off", "allowed" or "required"');
    }
    if (p.maxSessions !== null) {
      const cap = p.maxSessions;
      if (typeof cap !== "object") {
        fail(`profiles.${name}.maxSessions`, "must be an object {max, onLimit} or absent");
      }
      if (!Number.isInteger(cap.max) || cap.max < 1 || cap.max > MAX_SESSIONS_CEILING) {
        fail(`profiles.${name}.maxSessions.max`, `must be a whole number from 1 to ${MAX_SESSIONS_CEILING}`);
      }
      if (cap.onLimit !== "evict" && cap.onLimit !== "refuse") {
        fail(`profiles.${name}.maxSessions.onLimit`, 'must be "evict" or "refuse"');
      }
    }
    if (p.exchange && p.absoluteLifetime === null) {
      fail(
        `profiles.${name}.exchange`,
        "needs an absoluteLifetime: exchanges do not rotate anything, so only that limit ends the chain",
      );
    }
  }
  for (const [id, c] of Object.entries(policy.clients)) {
    if (!Object.hasOwn(policy.profiles, c.profile))
      fail(`clients.${id}.profile`, `no profile "${c.profile}"`);
  }
  if (!Object.hasOwn(policy.clients, policy.defaultClientId)) {
    fail("defaultClientId", `no client "${policy.defaultClientId}"`);
  }
}

/** Policies {@link checkedPolicy} made: frozen, so they are still what was validated. */
const checked = new WeakSet<Policy>();

/**
 * `policy` validated ({@link validatePolicy}), as a frozen copy: a configuration is
 * validated once, where it is read, and an engine given this copy does not validate it
 * again. Given a copy already checked, returns it.
 */
export function checkedPolicy(policy: Policy): Policy {
  if (checked.has(policy)) return policy;
  validatePolicy(policy);
  const profiles = Object.fromEntries(
    Object.entries(policy.profiles).map(([name, profile]) => [
      name,
      Object.freeze({
        ...profile,
        maxSessions: profile.maxSessions === null ? null : Object.freeze({ ...profile.maxSessions }),
      }),
    ]),
  );
  const clients = Object.fromEntries(
    Object.entries(policy.clients).map(([id, client]) => [id, Object.freeze({ ...client })]),
  );
  const copy: Policy = Object.freeze({
    profiles: Object.freeze(profiles),
    clients: Object.freeze(clients),
    defaultClientId: policy.defaultClientId,
  });
  checked.add(copy);
  return copy;
}

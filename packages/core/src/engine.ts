import { type AccessTokenClaims, RESERVED_CLAIMS } from "@prolong/protocol";
import { DEFAULT_CLOCK_TOLERANCE } from "@prolong/verify";
import { base64url } from "jose";
import {
  MAX_ACCESS_TOKEN_BYTES,
  type OwnTokenCheck,
  ownTokenCheck,
  signAccessToken,
} from "./access-token.js";
import { type Clock, seconds, systemClock } from "./clock.js";
import { cleanDeviceName } from "./device-name.js";
import { isProlongError, ProlongError } from "./errors.js";
import { KeyRing, type RingKey, type SigningAlg } from "./keys.js";
import {
  checkNewPassword,
  defaultScryptCost,
  hashPassword,
  normalizeUsername,
  type ScryptCost,
  verifyPassword,
} from "./passwords.js";
import {
  defaultPolicy,
  longestAccessTokenTtl,
  type Policy,
  type Profile,
  profileOf,
  validatePolicy,
} from "./policy.js";
import { cryptoRandom, type RandomSource, randomId } from "./random.js";
import { type RefreshToken, RefreshTokenCodec } from "./refresh-token.js";
import { isSessionExpired, isSessionLive } from "./session-rules.js";
import type {
  RevocationChange,
  RevokeReason,
  SecurityEvent,
  SessionRecord,
  SessionStore,
  UserRecord,
} from "./store.js";

/** Adds application claims to every access token; re-run on every refresh (P9). */
export type ClaimsHook = (context: {
  user: UserRecord;
  session: SessionRecord;
}) => Record<string, unknown> | Promise<Record<string, unknown>>;

/** What the engine tells its host (metrics, the revocation feed, audit logs). */
export type EngineEvent =
  | { type: "signed_in"; userId: string; sessionId: string; clientId: string; at: number }
  | { type: "sign_in_failed"; at: number }
  | { type: "refreshed"; userId: string; sessionId: string; replayed: boolean; at: number }
  | { type: "exchanged"; userId: string; sessionId: string; at: number }
  | { type: "reuse_detected"; userId: string; sessionId: string; at: number }
  | {
      type: "session_revoked";
      userId: string;
      sessionId: string;
      reason: RevokeReason;
      at: number;
      /** Until when (ms) an access token of this session could still be unexpired. */
      relevantUntil: number;
    }
  | { type: "token_version"; userId: string; version: number; at: number; relevantUntil: number };

/**
 * A revocation as the feed publishes it (docs/protocol.md, "Revocation feed"), read
 * from the store's changelog: `relevantUntil` (ms) is when no access token it covers
 * can still be unexpired.
 */
export type RevocationEntry =
  | { kind: "revoked"; sessionId: string; userId: string; relevantUntil: number }
  | { kind: "version"; userId: string; version: number; relevantUntil: number };

/** Entries in changelog order, and the cursor to read on from. */
export interface RevocationBatch {
  entries: RevocationEntry[];
  cursor: string;
}

/** Changelog entries read per store call when building a snapshot. */
const SNAPSHOT_PAGE = 1000;

export interface EngineOptions {
  store: SessionStore;
  /** `iss` of every access token (RFC 9068 §2.2); the server's configured URL. */
  issuer: string;
  /** `aud` of every access token. Default `prolong`. */
  audience?: string;
  policy?: Policy;
  clock?: Clock;
  random?: RandomSource;
  /** Algorithm of new signing keys. Default EdDSA. */
  alg?: SigningAlg;
  /** Encrypts private keys at rest when set. */
  keyEncryptionSecret?: string;
  /**
   * Seconds a next key is published before a rotation may promote it: the JWKS
   * `max-age` plus the servers' key-reload interval and clock skew. Default 305.
   */
  keyPublishAhead?: number;
  claims?: ClaimsHook;
  /**
   * Clock skew tolerated when verifying access tokens, in seconds. Default
   * `DEFAULT_CLOCK_TOLERANCE` of `@prolong/verify` (5), the resource servers' default.
   */
  clockTolerance?: number;
  passwordCost?: ScryptCost;
  onEvent?: (event: EngineEvent) => void;
}

export interface SessionContext {
  clientId?: string;
  deviceName?: string | null;
  userAgent?: string | null;
  ip?: string | null;
}

/** A fresh set of tokens for a session. */
export interface TokenSet {
  accessToken: string;
  tokenType: "Bearer";
  /** Seconds until the access token expires. */
  expiresIn: number;
  /** `null` for the stateless exchange, which issues no refresh token. */
  refreshToken: string | null;
  sessionId: string;
  claims: AccessTokenClaims;
  session: SessionRecord;
  profile: Profile;
  /**
   * True when a refresh presented the previous token inside the grace window (P5) and
   * got the same successor again: no new rotation happened, so rate limits skip it.
   */
  replayed: boolean;
}

/** RFC 7662 §2.2 answer. */
export type Introspection =
  | { active: false }
  | {
      active: true;
      token_type: "Bearer" | "refresh_token";
      sub: string;
      sid: string;
      client_id: string;
      iss: string;
      aud?: string | string[];
      exp?: number;
      iat?: number;
      jti?: string;
      auth_time: number;
      ver?: number;
    };

const USER_AGENT_MAX = 512;
const IP_MAX = 64;

/**
 * The session engine: every server-side session rule, over any {@link SessionStore}.
 * It knows nothing of HTTP; callers map {@link ProlongError} codes to responses.
 */
export class SessionEngine {
  readonly store: SessionStore;
  readonly keys: KeyRing;
  readonly policy: Policy;
  readonly issuer: string;
  readonly audience: string;
  readonly #clock: Clock;
  readonly #random: RandomSource;
  readonly #codec: RefreshTokenCodec;
  readonly #claims: ClaimsHook;
  readonly #tolerance: number;
  readonly #checkToken: OwnTokenCheck;
  readonly #passwordCost: ScryptCost;
  readonly #listeners = new Set<(event: EngineEvent) => void>();
  /** Spent on unknown usernames so a miss takes as long as a wrong password. */
  readonly #decoyHash: Promise<string>;

  private constructor(
    options: EngineOptions,
    keys: KeyRing,
    codec: RefreshTokenCodec,
    policy: Policy,
    checkToken: OwnTokenCheck,
  ) {
    this.store = options.store;
    this.keys = keys;
    this.policy = policy;
    this.issuer = options.issuer;
    this.audience = options.audience ?? "prolong";
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? cryptoRandom;
    this.#codec = codec;
    this.#claims = options.claims ?? (({ user }) => user.claims);
    this.#tolerance = options.clockTolerance ?? DEFAULT_CLOCK_TOLERANCE;
    this.#checkToken = checkToken;
    this.#passwordCost = options.passwordCost ?? defaultScryptCost;
    this.#decoyHash = hashPassword("decoy password, never matches", this.#passwordCost);
    if (options.onEvent) this.#listeners.add(options.onEvent);
  }

  /** Loads (or creates, on first start) the key ring and the refresh-token secret from the store. */
  static async create(options: EngineOptions): Promise<SessionEngine> {
    const policy = options.policy ?? defaultPolicy();
    validatePolicy(policy);
    if (!options.issuer) throw new ProlongError("invalid_config", "issuer: required");
    const clock = options.clock ?? systemClock;
    const random = options.random ?? cryptoRandom;
    const secret = await options.store.claimSecret("refresh-token-mac", base64url.encode(random.bytes(32)));
    const codec = await RefreshTokenCodec.create(base64url.decode(secret));
    const keys = await KeyRing.load({
      store: options.store,
      clock,
      random,
      alg: options.alg ?? "EdDSA",
      // A retired key must verify every token it signed, plus the skew verifiers allow.
      retainFor: longestAccessTokenTtl(policy) + 60,
      ...(options.keyPublishAhead === undefined ? {} : { publishAhead: options.keyPublishAhead }),
      ...(options.keyEncryptionSecret === undefined ? {} : { encryptionSecret: options.keyEncryptionSecret }),
    });
    const clockTolerance = options.clockTolerance ?? DEFAULT_CLOCK_TOLERANCE;
    if (!(Number.isFinite(clockTolerance) && clockTolerance >= 0)) {
      throw new ProlongError("invalid_config", "clockTolerance: must be zero or more seconds");
    }
    const checkToken = await ownTokenCheck(keys, {
      issuer: options.issuer,
      audience: options.audience ?? "prolong",
      clockTolerance,
      maxLifetime: longestAccessTokenTtl(policy),
      now: () => clock.now(),
    });
    return new SessionEngine(options, keys, codec, policy, checkToken);
  }

  /** Subscribes to engine events; returns the unsubscribe function. */
  subscribe(listener: (event: EngineEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  now(): number {
    return this.#clock.now();
  }

  // ---- users ------------------------------------------------------------------

  async createUser(input: {
    username: string;
    password?: string | null;
    claims?: Record<string, unknown>;
  }): Promise<UserRecord> {
    const username = normalizeUsername(input.username);
    let passwordHash: string | null = null;
    if (input.password !== undefined && input.password !== null) {
      checkNewPassword(input.password);
      passwordHash = await hashPassword(input.password, this.#passwordCost);
    }
    const now = this.now();
    const user = await this.store.createUser({
      id: randomId(this.#random),
      username,
      passwordHash,
      disabled: false,
      claims: input.claims ?? {},
      createdAt: now,
    });
    if (!user) throw new ProlongError("conflict", `username "${username}" is taken`);
    return user;
  }

  async findUserByName(username: string): Promise<UserRecord | null> {
    return this.store.findUserByName(normalizeUsername(username));
  }

  async #user(userId: string): Promise<UserRecord> {
    const user = await this.store.findUser(userId);
    if (!user) throw new ProlongError("not_found", "no such user");
    return user;
  }

  /** Disables a user and ends their sessions; a disabled user can neither sign in nor refresh (P8). */
  async disableUser(userId: string): Promise<void> {
    await this.#user(userId);
    const now = this.now();
    await this.store.updateUser(userId, { disabled: true }, now);
    await this.#event("user_disabled", userId, null, {});
    await this.#revokeAll(userId, { reason: "user_disabled" });
  }

  async enableUser(userId: string): Promise<void> {
    if (!(await this.store.updateUser(userId, { disabled: false }, this.now()))) {
      throw new ProlongError("not_found", "no such user");
    }
  }

  /** Sessions that signed in before now may not refresh until the user signs in again (P8). */
  async requireReauth(userId: string): Promise<void> {
    if (!(await this.store.updateUser(userId, { reauthRequiredAt: this.now() }, this.now()))) {
      throw new ProlongError("not_found", "no such user");
    }
    await this.#event("reauth_required", userId, null, {});
  }

  /** Replaces the user's application claims; they reach access tokens at the next refresh (P9). */
  async setClaims(userId: string, claims: Record<string, unknown>): Promise<UserRecord> {
    const user = await this.store.updateUser(userId, { claims }, this.now());
    if (!user) throw new ProlongError("not_found", "no such user");
    return user;
  }

  /**
   * "Log out everywhere" (P8): bumps the user's token version, so subscribed resource
   * servers drop every access token at once, and revokes every session.
   */
  async logoutEverywhere(userId: string): Promise<number> {
    const now = this.now();
    const user = await this.store.bumpTokenVersion(userId, now);
    if (!user) throw new ProlongError("not_found", "no such user");
    await this.#event("logout_everywhere", userId, null, { version: user.tokenVersion });
    this.#emit({
      type: "token_version",
      userId,
      version: user.tokenVersion,
      at: now,
      relevantUntil: this.#relevantUntil(now),
    });
    return (await this.#revokeAll(userId, { reason: "logout_everywhere" })).length;
  }

  /** Sets a new password without the old one (administrators); ends every session. */
  async setPassword(userId: string, newPassword: string): Promise<void> {
    checkNewPassword(newPassword);
    const hash = await hashPassword(newPassword, this.#passwordCost);
    if (!(await this.store.updateUser(userId, { passwordHash: hash }, this.now()))) {
      throw new ProlongError("not_found", "no such user");
    }
    await this.#event("password_changed", userId, null, { by: "admin" });
    await this.#revokeAll(userId, { reason: "password_change" });
  }

  /**
   * The user changes their own password; every other session ends (P8). A wrong current
   * password is recorded like a failed sign-in: a stolen access token must not become a
   * quiet way to guess the password.
   */
  async changePassword(input: {
    userId: string;
    sessionId: string;
    currentPassword: string;
    newPassword: string;
    ip?: string | null;
  }): Promise<number> {
    const user = await this.#user(input.userId);
    if (!user.passwordHash || !(await verifyPassword(input.currentPassword, user.passwordHash))) {
      await this.#event("password_change_failed", user.id, input.sessionId, { ip: input.ip ?? null });
      throw new ProlongError("invalid_credentials", "current password is wrong");
    }
    checkNewPassword(input.newPassword);
    const hash = await hashPassword(input.newPassword, this.#passwordCost);
    await this.store.updateUser(user.id, { passwordHash: hash }, this.now());
    await this.#event("password_changed", user.id, input.sessionId, { by: "user" });
    const revoked = await this.#revokeAll(user.id, { exceptId: input.sessionId, reason: "password_change" });
    return revoked.length;
  }

  // ---- signing in -------------------------------------------------------------

  /** Password sign-in. Unknown user and wrong password fail alike, in about the same time. */
  async signIn(input: { username: string; password: string } & SessionContext): Promise<TokenSet> {
    const clientId = input.clientId ?? this.policy.defaultClientId;
    profileOf(this.policy, clientId);
    let username: string | null;
    try {
      username = normalizeUsername(input.username);
    } catch {
      username = null;
    }
    const user = username === null ? null : await this.store.findUserByName(username);
    const hash = user?.passwordHash ?? (await this.#decoyHash);
    const matches = await verifyPassword(typeof input.password === "string" ? input.password : "", hash);
    if (!user?.passwordHash || !matches) {
      this.#emit({ type: "sign_in_failed", at: this.now() });
      if (user) await this.#event("sign_in_failed", user.id, null, { ip: input.ip ?? null });
      throw new ProlongError("invalid_credentials", "username or password is wrong");
    }
    if (user.disabled) throw new ProlongError("user_disabled", "this user is disabled");
    return this.#startSession(user, { ...input, clientId });
  }

  /**
   * For a backend that authenticated the user itself and wants prolong's tokens
   * (the admin API's "create session for user").
   */
  async createSessionForUser(input: { userId: string } & SessionContext): Promise<TokenSet> {
    const clientId = input.clientId ?? this.policy.defaultClientId;
    profileOf(this.policy, clientId);
    const user = await this.#user(input.userId);
    if (user.disabled) throw new ProlongError("user_disabled", "this user is disabled");
    return this.#startSession(user, { ...input, clientId });
  }

  async #startSession(user: UserRecord, context: SessionContext & { clientId: string }): Promise<TokenSet> {
    const profile = profileOf(this.policy, context.clientId);
    const now = this.now();
    const id = randomId(this.#random);
    const token = await this.#codec.issue(id, this.#random);
    const absoluteExpiresAt =
      profile.absoluteLifetime === null ? null : now + profile.absoluteLifetime * 1000;
    const idle = now + profile.idleTimeout * 1000;
    const session: SessionRecord = {
      id,
      userId: user.id,
      clientId: context.clientId,
      deviceName: cleanDeviceName(context.deviceName),
      userAgent: clip(context.userAgent, USER_AGENT_MAX),
      ip: clip(context.ip, IP_MAX),
      createdAt: now,
      authTime: now,
      lastActiveAt: now,
      idleExpiresAt: absoluteExpiresAt === null ? idle : Math.min(idle, absoluteExpiresAt),
      absoluteExpiresAt,
      tokenVersion: user.tokenVersion,
      generation: token.generation,
      currentHash: token.hash,
      previousHash: null,
      rotatedAt: null,
      revokedAt: null,
      revokedReason: null,
    };
    await this.store.createSession(session);
    await this.#event("signed_in", user.id, id, { clientId: context.clientId, ip: session.ip });
    this.#emit({ type: "signed_in", userId: user.id, sessionId: id, clientId: context.clientId, at: now });
    return this.#tokens(user, session, profile, token.value);
  }

  // ---- refreshing -------------------------------------------------------------

  /**
   * Refresh with rotation (RFC 6749 §6, P4, P5): returns a new access token and the
   * successor refresh token. Replaying the previous token inside the grace window
   * returns the same successor; replaying any older one revokes the session.
   */
  async refresh(input: { refreshToken: string; clientId?: string }): Promise<TokenSet> {
    const token = await this.#codec.open(input.refreshToken);
    if (!token) throw new ProlongError("invalid_grant", "refresh token is invalid");
    const session = await this.store.findSession(token.sessionId);
    if (!session) throw new ProlongError("invalid_grant", "refresh token is invalid");
    // RFC 6749 §6: a refresh token is bound to the client it was issued to.
    if (input.clientId !== undefined && input.clientId !== session.clientId) {
      throw new ProlongError("invalid_grant", "refresh token was issued to another client");
    }
    const profile = profileOf(this.policy, session.clientId);
    const user = await this.#admit(session);
    const successor = await this.#codec.next(token);
    const now = this.now();
    const outcome = await this.store.rotate({
      sessionId: session.id,
      generation: token.generation,
      presentedHash: token.hash,
      successorHash: successor.hash,
      now,
      graceMs: profile.graceWindow * 1000,
      idleTimeoutMs: profile.idleTimeout * 1000,
    });
    switch (outcome.status) {
      case "rotated":
      case "replayed": {
        // The successor is derived, so a replay must land on the stored current token.
        if (outcome.session.currentHash !== successor.hash) {
          throw new ProlongError("invalid_grant", "refresh token is invalid");
        }
        const replayed = outcome.status === "replayed";
        this.#emit({ type: "refreshed", userId: user.id, sessionId: session.id, replayed, at: now });
        return { ...(await this.#tokens(user, outcome.session, profile, successor.value)), replayed };
      }
      case "reused":
        await this.#event("reuse_detected", session.userId, session.id, { generation: token.generation });
        this.#emit({ type: "reuse_detected", userId: session.userId, sessionId: session.id, at: now });
        this.#emitRevoked(outcome.session, "reuse", now);
        throw new ProlongError("reuse_detected", "refresh token was reused; the session is revoked");
      case "revoked":
        throw new ProlongError("session_revoked", "session was revoked");
      case "expired":
        throw new ProlongError("session_expired", "session has expired");
      case "unknown":
        throw new ProlongError("invalid_grant", "refresh token is invalid");
    }
  }

  /**
   * The session a refresh token belongs to, once its tag checks out; `null` otherwise.
   * Lets a host rate-limit per session without trusting an unauthenticated id.
   */
  async sessionOfRefreshToken(refreshToken: string): Promise<string | null> {
    return (await this.#codec.open(refreshToken))?.sessionId ?? null;
  }

  /**
   * Stateless exchange (P10): a valid, unexpired access token buys a new one for the
   * same session, bounded by the absolute lifetime and refused for ended sessions.
   */
  async exchange(input: { accessToken: string; clientId?: string }): Promise<TokenSet> {
    const claims = await this.#checkToken(input.accessToken);
    const session = await this.store.findSession(claims.sid);
    if (!session || session.userId !== claims.sub)
      throw new ProlongError("invalid_grant", "token is invalid");
    if (input.clientId !== undefined && input.clientId !== session.clientId) {
      throw new ProlongError("invalid_grant", "token was issued to another client");
    }
    const profile = profileOf(this.policy, session.clientId);
    // Opt-in per profile, and only where an absolute lifetime ends the chain (validatePolicy).
    if (!profile.exchange) {
      throw new ProlongError("unauthorized_client", "this client may not use the token exchange");
    }
    const user = await this.#admit(session);
    if (claims.ver < user.tokenVersion) throw new ProlongError("session_revoked", "session was revoked");
    const now = this.now();
    const touched = await this.store.touchSession(session.id, now, profile.idleTimeout * 1000);
    if (!touched) {
      throw session.revokedAt !== null
        ? new ProlongError("session_revoked", "session was revoked")
        : new ProlongError("session_expired", "session has expired");
    }
    this.#emit({ type: "exchanged", userId: user.id, sessionId: session.id, at: now });
    return this.#tokens(user, touched, profile, null);
  }

  /**
   * Checks an access token for the server's own bearer-protected routes: signature,
   * claims, and that its session is still live (so logout takes effect at once there).
   */
  async authenticate(accessToken: string): Promise<{ claims: AccessTokenClaims; session: SessionRecord }> {
    const claims = await this.#checkToken(accessToken);
    const session = await this.store.findSession(claims.sid);
    const now = this.now();
    if (!session || session.userId !== claims.sub || session.revokedAt !== null) {
      throw new ProlongError("session_revoked", "session was revoked");
    }
    if (isSessionExpired(session, now)) throw new ProlongError("session_expired", "session has expired");
    const user = await this.store.findUser(session.userId);
    if (!user || user.disabled) throw new ProlongError("user_disabled", "this user is disabled");
    if (claims.ver < user.tokenVersion) throw new ProlongError("session_revoked", "session was revoked");
    return { claims, session };
  }

  /** The rules a session's user must pass before it gets new tokens (P8). */
  async #admit(session: SessionRecord): Promise<UserRecord> {
    const user = await this.store.findUser(session.userId);
    if (!user) throw new ProlongError("invalid_grant", "refresh token is invalid");
    if (user.disabled) throw new ProlongError("user_disabled", "this user is disabled");
    if (session.revokedAt !== null) throw new ProlongError("session_revoked", "session was revoked");
    if (user.tokenVersion > session.tokenVersion) {
      // A session created while "log out everywhere" ran can slip past the bulk revoke.
      await this.#revokeOne(session.id, "logout_everywhere");
      throw new ProlongError("session_revoked", "session was revoked");
    }
    if (user.reauthRequiredAt !== null && session.authTime <= user.reauthRequiredAt) {
      throw new ProlongError("reauth_required", "sign in again to continue");
    }
    return user;
  }

  async #tokens(
    user: UserRecord,
    session: SessionRecord,
    profile: Profile,
    refreshToken: string | null,
  ): Promise<TokenSet> {
    const key: RingKey = this.keys.active;
    const iat = seconds(this.now());
    let exp = iat + profile.accessTokenTtl;
    // An access token never outlives the session's absolute limit (P3).
    if (session.absoluteExpiresAt !== null) exp = Math.min(exp, seconds(session.absoluteExpiresAt));
    const custom = await this.#claims({ user, session });
    const claims: AccessTokenClaims = {
      ...Object.fromEntries(Object.entries(custom ?? {}).filter(([name]) => !RESERVED_CLAIMS.has(name))),
      iss: this.issuer,
      sub: user.id,
      aud: this.audience,
      exp,
      iat,
      jti: randomId(this.#random),
      client_id: session.clientId,
      sid: session.id,
      ver: user.tokenVersion,
      auth_time: seconds(session.authTime),
      rfa: iat + Math.floor((exp - iat) * profile.refreshAfterRatio),
    };
    const accessToken = await signAccessToken(key, claims);
    return {
      accessToken,
      tokenType: "Bearer",
      expiresIn: exp - iat,
      refreshToken,
      sessionId: session.id,
      claims,
      session,
      profile,
      replayed: false,
    };
  }

  // ---- revocation and introspection ------------------------------------------

  /**
   * RFC 7009: revokes the session behind a refresh or access token. Unknown and
   * invalid tokens are ignored (§2.2: the answer is the same either way).
   */
  async revokeToken(input: { token: string; tokenTypeHint?: string; clientId?: string }): Promise<void> {
    const sessionId = await this.#sessionOf(input.token, input.tokenTypeHint);
    if (!sessionId) return;
    const session = await this.store.findSession(sessionId);
    if (!session || (input.clientId !== undefined && input.clientId !== session.clientId)) return;
    // RFC 7009 §2: the holder of the token ends its session, which is what signing out is.
    await this.#revokeOne(sessionId, "logout");
  }

  async #sessionOf(token: string, hint?: string): Promise<string | null> {
    if (typeof token !== "string" || token.length > MAX_ACCESS_TOKEN_BYTES) return null;
    const asRefresh = async () => (await this.#codec.open(token))?.sessionId ?? null;
    const asAccess = async () => {
      try {
        return (await this.#checkToken(token)).sid;
      } catch (error) {
        if (isProlongError(error)) return null;
        throw error;
      }
    };
    // §2.1: the hint only orders the look-ups.
    return hint === "access_token"
      ? ((await asAccess()) ?? (await asRefresh()))
      : ((await asRefresh()) ?? (await asAccess()));
  }

  /** RFC 7662 introspection of an access or refresh token. */
  async introspect(token: string, hint?: string): Promise<Introspection> {
    if (typeof token !== "string" || token.length > MAX_ACCESS_TOKEN_BYTES) return { active: false };
    const now = this.now();
    if (hint !== "access_token") {
      const refresh = await this.#codec.open(token);
      if (refresh) return this.#introspectRefresh(refresh, now);
    }
    let claims: AccessTokenClaims;
    try {
      claims = await this.#checkToken(token);
    } catch (error) {
      if (!isProlongError(error)) throw error;
      if (hint === "access_token") {
        const refresh = await this.#codec.open(token);
        if (refresh) return this.#introspectRefresh(refresh, now);
      }
      return { active: false };
    }
    const session = await this.store.findSession(claims.sid);
    const user = session ? await this.store.findUser(session.userId) : null;
    if (
      !session ||
      !user ||
      !isSessionLive(session, now) ||
      user.disabled ||
      claims.ver < user.tokenVersion
    ) {
      return { active: false };
    }
    return {
      active: true,
      token_type: "Bearer",
      sub: claims.sub,
      sid: claims.sid,
      client_id: claims.client_id,
      iss: claims.iss,
      aud: claims.aud,
      exp: claims.exp,
      iat: claims.iat,
      jti: claims.jti,
      auth_time: claims.auth_time,
      ver: claims.ver,
    };
  }

  async #introspectRefresh(token: RefreshToken, now: number): Promise<Introspection> {
    const session = await this.store.findSession(token.sessionId);
    if (!session || !isSessionLive(session, now) || token.generation !== session.generation)
      return { active: false };
    if (token.hash !== session.currentHash) return { active: false };
    const user = await this.store.findUser(session.userId);
    if (!user || user.disabled) return { active: false };
    return {
      active: true,
      token_type: "refresh_token",
      sub: session.userId,
      sid: session.id,
      client_id: session.clientId,
      iss: this.issuer,
      ...(session.absoluteExpiresAt === null ? {} : { exp: seconds(session.absoluteExpiresAt) }),
      auth_time: seconds(session.authTime),
    };
  }

  // ---- sessions (P7) ----------------------------------------------------------

  /** The user's live sessions, newest first. */
  async listSessions(userId: string): Promise<SessionRecord[]> {
    return this.store.listSessions(userId, this.now());
  }

  async renameSession(userId: string, sessionId: string, deviceName: string): Promise<SessionRecord> {
    const name = cleanDeviceName(deviceName);
    if (name === null) {
      throw new ProlongError("invalid_request", "device name is empty once invisible characters are removed");
    }
    await this.#ownSession(userId, sessionId);
    const renamed = await this.store.renameSession(sessionId, name);
    if (!renamed) throw new ProlongError("not_found", "no such session");
    return renamed;
  }

  /** Ends one of the user's sessions; pass `userId: null` to act as an administrator. */
  async revokeSession(
    userId: string | null,
    sessionId: string,
    reason: RevokeReason = "revoked",
  ): Promise<void> {
    if (userId !== null) await this.#ownSession(userId, sessionId);
    if (
      !(await this.#revokeOne(sessionId, reason)) &&
      userId === null &&
      !(await this.store.findSession(sessionId))
    ) {
      throw new ProlongError("not_found", "no such session");
    }
  }

  /** Ends the current session (logout). */
  async logout(sessionId: string): Promise<void> {
    await this.#revokeOne(sessionId, "logout");
  }

  /** "Sign out all other devices": returns how many sessions ended. */
  async revokeOtherSessions(userId: string, currentSessionId: string): Promise<number> {
    return (await this.#revokeAll(userId, { exceptId: currentSessionId, reason: "revoked" })).length;
  }

  async #ownSession(userId: string, sessionId: string): Promise<SessionRecord> {
    const session = await this.store.findSession(sessionId);
    // Someone else's session is "not found", so ids cannot be probed.
    if (!session || session.userId !== userId || session.revokedAt !== null) {
      throw new ProlongError("not_found", "no such session");
    }
    return session;
  }

  async #revokeOne(sessionId: string, reason: RevokeReason): Promise<boolean> {
    const now = this.now();
    const session = await this.store.revokeSession(sessionId, reason, now);
    if (!session) return false;
    await this.#event("session_revoked", session.userId, session.id, { reason });
    this.#emitRevoked(session, reason, now);
    return true;
  }

  async #revokeAll(
    userId: string,
    options: { exceptId?: string; reason: RevokeReason },
  ): Promise<SessionRecord[]> {
    const now = this.now();
    const revoked = await this.store.revokeUserSessions(userId, { ...options, now });
    for (const session of revoked) {
      await this.#event("session_revoked", userId, session.id, { reason: options.reason });
      this.#emitRevoked(session, options.reason, now);
    }
    return revoked;
  }

  // ---- revocation feed --------------------------------------------------------

  /**
   * What a resource server must know right now, from the store's changelog: sessions
   * revoked and token versions bumped recently enough that some access token they cover
   * may still be unexpired, and the cursor from which later changes follow.
   */
  async revocationSnapshot(): Promise<RevocationBatch> {
    const since = this.now() - this.#relevanceMs();
    const entries: RevocationEntry[] = [];
    let after: string | null = null;
    for (;;) {
      const page = await this.store.readRevocations({ after, since, limit: SNAPSHOT_PAGE });
      entries.push(...page.changes.map((c) => this.#entry(c)));
      after = page.cursor;
      if (page.changes.length < SNAPSHOT_PAGE) return { entries, cursor: after };
    }
  }

  /** Changes after `cursor` (from a snapshot or an earlier call), at most `limit`, in order. */
  async revocationsAfter(cursor: string, limit: number): Promise<RevocationBatch> {
    const page = await this.store.readRevocations({ after: cursor, limit });
    return { entries: page.changes.map((c) => this.#entry(c)), cursor: page.cursor };
  }

  #entry(change: RevocationChange): RevocationEntry {
    const relevantUntil = this.#relevantUntil(change.at);
    return change.kind === "revoked"
      ? { kind: "revoked", sessionId: change.sessionId, userId: change.userId, relevantUntil }
      : { kind: "version", userId: change.userId, version: change.version, relevantUntil };
  }

  #relevanceMs(): number {
    return (longestAccessTokenTtl(this.policy) + this.#tolerance) * 1000;
  }

  #relevantUntil(at: number): number {
    return at + this.#relevanceMs();
  }

  #emitRevoked(session: SessionRecord, reason: RevokeReason, at: number): void {
    this.#emit({
      type: "session_revoked",
      userId: session.userId,
      sessionId: session.id,
      reason,
      at,
      relevantUntil: this.#relevantUntil(at),
    });
  }

  // ---- upkeep -----------------------------------------------------------------

  /**
   * Deletes sessions that ended, and security events recorded, more than `retain`
   * seconds ago (default 30 days), and keys no token can need any more. Returns how
   * many sessions went. The retention must exceed an access-token lifetime so the
   * revocation feed's snapshot stays complete.
   */
  async purge(retain = 30 * 86_400): Promise<number> {
    const floor = Math.max(retain * 1000, this.#relevanceMs());
    const deleted = await this.store.purge(this.now() - floor);
    await this.keys.prune();
    return deleted;
  }

  // ---- keys -------------------------------------------------------------------

  /**
   * Promotes the published next key to signing key and publishes a new next key; the
   * previous key keeps verifying until its tokens expire. Refused (`rotation_too_early`)
   * before the next key has been published long enough, unless `force`.
   */
  async rotateKeys(options: { force?: boolean } = {}): Promise<RingKey> {
    const key = await this.keys.rotate(options);
    await this.keys.prune();
    return key;
  }

  // ---- events -----------------------------------------------------------------

  async #event(
    type: string,
    userId: string | null,
    sessionId: string | null,
    detail: Record<string, unknown>,
  ) {
    const event: SecurityEvent = {
      id: randomId(this.#random),
      type,
      userId,
      sessionId,
      at: this.now(),
      detail,
    };
    await this.store.recordEvent(event);
  }

  #emit(event: EngineEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A broken listener must not turn a successful refresh into a failure.
      }
    }
  }
}

function clip(value: string | null | undefined, max: number): string | null {
  if (typeof value !== "string" || value.length === 0) return null;
  return value.slice(0, max);
}

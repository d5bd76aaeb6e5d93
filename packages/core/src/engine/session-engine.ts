import type { SigningAlg } from "@prolong/protocol";
import { DEFAULT_CLOCK_TOLERANCE } from "@prolong/verify";
import { ownTokenCheck } from "../access-token.js";
import { type Clock, systemClock } from "../clock.js";
import { ProlongError } from "../errors.js";
import { KeyRing, type RingKey } from "../keys.js";
import { decodeBase64url, encodeBase64url } from "../lib/base64url.js";
import { defaultScryptCost, hashPassword, type ScryptCost } from "../passwords.js";
import { checkedPolicy, defaultPolicy, longestAccessTokenTtl, type Policy } from "../policy.js";
import { cryptoRandom, type RandomSource } from "../random.js";
import { type RefreshToken, RefreshTokenCodec } from "../refresh-token.js";
import type {
  AccountRecord,
  AuditPage,
  AuditQuery,
  RevokeReason,
  SessionRecord,
  Store,
  SubjectRecord,
} from "../store/index.js";
import * as accounts from "./accounts.js";
import { auditRecorder } from "./audit.js";
import { authenticate, type Caller } from "./authenticate.js";
import type { ClaimsHook, EngineContext } from "./context.js";
import * as deviceKeys from "./device-keys.js";
import { claimProof, type ProvenKey } from "./dpop-proofs.js";
import { EngineEvents, type EngineListener, type ListenerFailureHandler } from "./events.js";
import { type ExchangeInput, exchange } from "./exchange.js";
import type { ExchangedToken, IssuedTokens, RefreshedTokens } from "./grants.js";
import { createHandoff, type Handoff, redeemHandoff } from "./handoff.js";
import {
  DEFAULT_IMPERSONATION_MAX_TTL,
  IMPERSONATION_TTL_CEILING,
  type ImpersonationInput,
  impersonate,
} from "./impersonation.js";
import { type Introspection, introspect } from "./introspect.js";
import { openRefreshToken, type RefreshInput, refresh } from "./refresh.js";
import * as feed from "./revocation-feed.js";
import * as revoke from "./revoke.js";
import * as sessions from "./sessions.js";
import { type SessionContext, signIn, startSessionForSubject } from "./sign-in.js";
import * as signingKeys from "./signing-keys.js";
import { type SteppedUp, type StepUpInput, stepUp } from "./step-up.js";
import * as subjects from "./subjects.js";
import { purge } from "./upkeep.js";

export interface EngineOptions {
  store: Store;
  /** `iss` of every access token (RFC 9068 §2.2); the server's configured URL. */
  issuer: string;
  /** `aud` of every access token. Default `prolong`. */
  audience?: string;
  policy?: Policy;
  clock?: Clock;
  random?: RandomSource;
  /** Algorithm of new signing keys. Default EdDSA. */
  alg?: SigningAlg;
  /** Seals private keys at rest when set (the server's `keyEncryptionKey` setting). */
  keyEncryptionKey?: string;
  /**
   * Seconds a next key is published before a rotation may promote it: the JWKS
   * `max-age` plus the servers' key-reload interval and clock skew. Default
   * `publishAheadFor(DEFAULT_JWKS_MAX_AGE)` (keys.ts).
   */
  keyPublishAhead?: number;
  claims?: ClaimsHook;
  /**
   * Clock skew tolerated when verifying access tokens, in seconds. Default
   * `DEFAULT_CLOCK_TOLERANCE` of `@prolong/verify` (5), the resource servers' default.
   */
  clockTolerance?: number;
  passwordCost?: ScryptCost;
  /** Subscribed before anything happens; the same as calling `subscribe`. */
  onEvent?: EngineListener;
  /**
   * The longest impersonation session an administrator may start, in seconds (1 to
   * 86400). Default 3600 (docs/session-policies.md, "Impersonation").
   */
  impersonationMaxTtl?: number;
}

/**
 * The session engine: every server-side session rule, over any {@link Store}. It knows
 * nothing of HTTP; callers map {@link ProlongError} codes to responses.
 *
 * A thin facade: each operation lives in a module of its own under `engine/`, as a
 * function of the shared {@link EngineContext}.
 */
export class SessionEngine {
  readonly #ctx: EngineContext;

  private constructor(ctx: EngineContext) {
    this.#ctx = ctx;
  }

  /** Loads (or creates, on first start) the key ring and the refresh-token secret from the store. */
  static async create(options: EngineOptions): Promise<SessionEngine> {
    const policy = checkedPolicy(options.policy ?? defaultPolicy());
    if (!options.issuer) throw new ProlongError("invalid_config", "issuer: required");
    const clockTolerance = options.clockTolerance ?? DEFAULT_CLOCK_TOLERANCE;
    if (!(Number.isFinite(clockTolerance) && clockTolerance >= 0)) {
      throw new ProlongError("invalid_config", "clockTolerance: must be zero or more seconds");
    }
    const impersonationMaxTtl = options.impersonationMaxTtl ?? DEFAULT_IMPERSONATION_MAX_TTL;
    if (
      !Number.isInteger(impersonationMaxTtl) ||
      impersonationMaxTtl < 1 ||
      impersonationMaxTtl > IMPERSONATION_TTL_CEILING
    ) {
      throw new ProlongError(
        "invalid_config",
        `impersonation.maxTtlSeconds: must be a whole number of seconds from 1 to ${IMPERSONATION_TTL_CEILING}`,
      );
    }
    const { store } = options;
    const clock = options.clock ?? systemClock;
    const random = options.random ?? cryptoRandom;
    const audience = options.audience ?? "prolong";
    const refreshTokenKey = await claimSharedSecret(store, random, "refresh-token-mac");
    const keys = await KeyRing.load({
      store: store.keys,
      clock,
      random,
      alg: options.alg ?? "EdDSA",
      // A retired key must verify every token it signed, plus the skew verifiers allow.
      retainFor: longestAccessTokenTtl(policy) + 60,
      ...(options.keyPublishAhead === undefined ? {} : { publishAhead: options.keyPublishAhead }),
      ...(options.keyEncryptionKey === undefined ? {} : { keyEncryptionKey: options.keyEncryptionKey }),
    });
    const checkToken = await ownTokenCheck(keys, {
      issuer: options.issuer,
      audience,
      clockTolerance,
      maxLifetime: longestAccessTokenTtl(policy),
      now: () => clock.now(),
    });
    const events = new EngineEvents();
    events.subscribe(auditRecorder(store.audit, random));
    if (options.onEvent) events.subscribe(options.onEvent);
    const passwordCost = options.passwordCost ?? defaultScryptCost;
    return new SessionEngine({
      store,
      policy,
      issuer: options.issuer,
      audience,
      clock,
      random,
      codec: RefreshTokenCodec.create(refreshTokenKey),
      keys,
      checkToken,
      claims: options.claims ?? (({ subject }) => subject.claims),
      events,
      relevanceMs: (longestAccessTokenTtl(policy) + clockTolerance) * 1000,
      passwordCost,
      impersonationMaxTtl,
      decoyHash: once(() => hashPassword("decoy password, never matches", passwordCost)),
    });
  }

  // ---- the engine itself --------------------------------------------------------

  /** The signing keys: JWKS, reload, export. Rotate with {@link SessionEngine.rotateKeys}. */
  get keys(): KeyRing {
    return this.#ctx.keys;
  }

  get policy(): Policy {
    return this.#ctx.policy;
  }

  get issuer(): string {
    return this.#ctx.issuer;
  }

  get audience(): string {
    return this.#ctx.audience;
  }

  now(): number {
    return this.#ctx.clock.now();
  }

  /**
   * Subscribes to engine events; returns the unsubscribe function. A listener's failure
   * never changes an operation's answer; it goes to the failure handlers (events.ts).
   */
  subscribe(listener: EngineListener): () => void {
    return this.#ctx.events.subscribe(listener);
  }

  /** Where listener failures go (the security-event log's writes included); default stderr. */
  onListenerFailure(handler: ListenerFailureHandler): () => void {
    return this.#ctx.events.onListenerFailure(handler);
  }

  /**
   * Readiness: resolves when the store can serve, writes included; rejects
   * (`store_unavailable`) otherwise.
   */
  ready(): Promise<void> {
    return this.#ctx.store.ping();
  }

  /**
   * The resource servers' credential kept in the store: the stored one, or `candidate`
   * stored first when there is none, so every process on one store agrees on it.
   */
  resourceSecret(candidate: string): Promise<string> {
    return this.#ctx.store.keys.claimSecret("resource-secret", candidate);
  }

  /**
   * 256 random bits kept in the store under `name`, created on first use, so every
   * process on one store holds the same key (the server signs its device tokens with one).
   * Give each use its own name: one key serving two purposes lets a value minted for
   * one pass as the other.
   */
  sharedSecret(name: string): Promise<Uint8Array> {
    return claimSharedSecret(this.#ctx.store, this.#ctx.random, name);
  }

  // ---- accounts and subjects ---------------------------------------------------

  createAccount(input: {
    username: string;
    password?: string | null;
    claims?: Record<string, unknown>;
  }): Promise<subjects.SubjectDetails & { account: AccountRecord }> {
    return accounts.createAccount(this.#ctx, input);
  }

  findAccountByName(username: string): Promise<AccountRecord | null> {
    return accounts.findAccountByName(this.#ctx, username);
  }

  findAccountBySubject(subjectId: string): Promise<AccountRecord | null> {
    return accounts.findAccountBySubject(this.#ctx, subjectId);
  }

  listAccounts(options: { limit: number; after?: string }): Promise<accounts.AccountHolder[]> {
    return accounts.listAccounts(this.#ctx, options);
  }

  /** A page of the subjects that have a built-in account, by username (`GET /admin/subjects`). */
  listSubjects(options: { limit: number; after?: string }): Promise<accounts.SubjectPage> {
    return accounts.listSubjects(this.#ctx, options);
  }

  /** The subject whose built-in account has this username; `null` when there is none. */
  findSubjectByUsername(username: string): Promise<accounts.AccountHolder | null> {
    return accounts.findSubjectByUsername(this.#ctx, username);
  }

  setPassword(subjectId: string, newPassword: string): Promise<void> {
    return accounts.setPassword(this.#ctx, subjectId, newPassword);
  }

  changePassword(input: {
    subjectId: string;
    sessionId: string;
    currentPassword: string;
    newPassword: string;
    ip?: string | null;
  }): Promise<number> {
    return accounts.changePassword(this.#ctx, input);
  }

  describeSubject(subjectId: string): Promise<subjects.SubjectDetails | null> {
    return subjects.describeSubject(this.#ctx, subjectId);
  }

  disableSubject(subjectId: string): Promise<void> {
    return subjects.disableSubject(this.#ctx, subjectId);
  }

  enableSubject(subjectId: string): Promise<void> {
    return subjects.enableSubject(this.#ctx, subjectId);
  }

  requireReauth(subjectId: string): Promise<void> {
    return subjects.requireReauth(this.#ctx, subjectId);
  }

  setClaims(subjectId: string, claims: Record<string, unknown>): Promise<SubjectRecord> {
    return subjects.setClaims(this.#ctx, subjectId, claims);
  }

  logoutEverywhere(subjectId: string): Promise<number> {
    return subjects.logoutEverywhere(this.#ctx, subjectId);
  }

  /** The security-event log, newest first (`GET /admin/events`). */
  listEvents(query: AuditQuery): Promise<AuditPage> {
    return this.#ctx.store.audit.list(query);
  }

  // ---- tokens --------------------------------------------------------------------

  signIn(input: { username: string; password: string } & SessionContext): Promise<IssuedTokens> {
    return signIn(this.#ctx, input);
  }

  /**
   * A session for a user the caller authenticated itself; `subjectId` is the
   * application's user id (the `sub`), created on first use.
   */
  startSessionForSubject(input: { subjectId: string } & SessionContext): Promise<IssuedTokens> {
    return startSessionForSubject(this.#ctx, input);
  }

  /**
   * A one-time code a browser redeems at the token endpoint for a web session of
   * `subjectId` (docs/protocol.md, "Handoff grant"); the session carries the given
   * `acr`/`amr` from its first access token on.
   */
  createHandoff(input: {
    subjectId: string;
    clientId?: string;
    deviceName?: string | null;
    acr?: string | null;
    amr?: string[] | null;
  }): Promise<Handoff> {
    return createHandoff(this.#ctx, input);
  }

  /** Redeems a handoff code once: the session starts now, for the client it was made for. */
  redeemHandoff(
    input: { code: string; clientId: string } & Omit<
      SessionContext,
      "clientId" | "deviceName" | "acr" | "amr"
    >,
  ): Promise<IssuedTokens> {
    return redeemHandoff(this.#ctx, input);
  }

  /**
   * Step-up (RFC 9470): the host re-authenticated the user of `sessionId`; the session's
   * next tokens carry `auth_time` now and the given `acr`/`amr` (step-up.ts).
   */
  stepUp(sessionId: string, input: StepUpInput = {}): Promise<SteppedUp> {
    return stepUp(this.#ctx, sessionId, input);
  }

  /**
   * An administrator's session as `subjectId`, its tokens carrying `act: {sub: actor}`,
   * ending after `ttlSeconds` whatever happens (impersonation.ts).
   */
  impersonate(input: ImpersonationInput): Promise<IssuedTokens> {
    return impersonate(this.#ctx, input);
  }

  /** The longest impersonation this engine starts, in seconds. */
  get impersonationMaxTtl(): number {
    return this.#ctx.impersonationMaxTtl;
  }

  openRefreshToken(value: string): RefreshToken | null {
    return openRefreshToken(this.#ctx, value);
  }

  refresh(input: RefreshInput): Promise<RefreshedTokens> {
    return refresh(this.#ctx, input);
  }

  /** DBSC: records the key a browser registered with a live session that has none (device-keys.ts). */
  registerDeviceKey(sessionId: string, key: string): Promise<"registered" | "taken" | "missing"> {
    return deviceKeys.registerDeviceKey(this.#ctx, sessionId, key);
  }

  /** DBSC: a session's registered key and profile, `null` when the session cannot refresh (device-keys.ts). */
  deviceBinding(sessionId: string): Promise<deviceKeys.DeviceBinding | null> {
    return deviceKeys.deviceBinding(this.#ctx, sessionId);
  }

  /** Claims a single-use value until `expiresAt` (ms), across every instance on the store. */
  claimOnce(key: string, expiresAt: number): Promise<boolean> {
    return deviceKeys.claimOnce(this.#ctx, key, expiresAt);
  }

  exchange(input: ExchangeInput): Promise<ExchangedToken> {
    return exchange(this.#ctx, input);
  }

  authenticate(accessToken: string): Promise<Caller> {
    return authenticate(this.#ctx, accessToken);
  }

  introspect(token: string, hint?: string): Promise<Introspection> {
    return introspect(this.#ctx, token, hint);
  }

  /**
   * RFC 7009 revocation; `proofJkt` is the thumbprint of the request's checked DPoP
   * proof, which a client whose profile requires DPoP must send.
   */
  revokeToken(input: {
    token: string;
    tokenTypeHint?: string;
    clientId?: string;
    proofJkt?: string | null;
  }): Promise<void> {
    return revoke.revokeToken(this.#ctx, input);
  }

  /**
   * Claims a checked DPoP proof's `jti` once for every instance on the store: `false` for
   * a replayed proof, which the caller refuses (RFC 9449 §11.1).
   */
  claimProof(proof: ProvenKey): Promise<boolean> {
    return claimProof(this.#ctx, proof);
  }

  // ---- sessions (P7) -------------------------------------------------------------

  listSessions(subjectId: string): Promise<SessionRecord[]> {
    return sessions.listSessions(this.#ctx, subjectId);
  }

  /** A page of a subject's sessions, live ones or all, for administrators. */
  findSessions(query: sessions.SessionQuery): Promise<sessions.SessionPage> {
    return sessions.findSessions(this.#ctx, query);
  }

  /** Any session by id, ended or not (administrators); `null` when there is none. */
  findSession(sessionId: string): Promise<SessionRecord | null> {
    return sessions.findSession(this.#ctx, sessionId);
  }

  renameSession(subjectId: string, sessionId: string, deviceName: string): Promise<SessionRecord> {
    return sessions.renameSession(this.#ctx, subjectId, sessionId, deviceName);
  }

  /** Ends one of the subject's sessions; pass `subjectId: null` to act as an administrator. */
  revokeSession(subjectId: string | null, sessionId: string, reason?: RevokeReason): Promise<void> {
    return revoke.revokeSession(this.#ctx, subjectId, sessionId, reason);
  }

  /** Ends the current session (logout). */
  async logout(sessionId: string): Promise<void> {
    await revoke.endSession(this.#ctx, sessionId, "logout");
  }

  revokeOtherSessions(subjectId: string, currentSessionId: string): Promise<number> {
    return revoke.revokeOtherSessions(this.#ctx, subjectId, currentSessionId);
  }

  // ---- revocation feed, keys, upkeep -------------------------------------------------

  revocationSnapshot(): Promise<feed.RevocationBatch> {
    return feed.revocationSnapshot(this.#ctx);
  }

  revocationsAfter(cursor: string, limit: number): Promise<feed.RevocationBatch> {
    return feed.revocationsAfter(this.#ctx, cursor, limit);
  }

  watchRevocations(wake: () => void): (() => void) | null {
    return feed.watchRevocations(this.#ctx, wake);
  }

  listKeys(): signingKeys.KeyListing {
    return signingKeys.listKeys(this.#ctx);
  }

  rotateKeys(options: { force?: boolean } = {}): Promise<RingKey> {
    return signingKeys.rotateKeys(this.#ctx, options);
  }

  purge(retain?: number): Promise<number> {
    return purge(this.#ctx, retain);
  }
}

/**
 * 256 random bits the store keeps under `name` (base64url), claimed on first use so
 * every process on one store holds the same, and checked as they are read.
 */
async function claimSharedSecret(store: Store, random: RandomSource, name: string): Promise<Uint8Array> {
  const stored = await store.keys.claimSecret(name, encodeBase64url(random.bytes(32)));
  const secret = decodeBase64url(stored, 32);
  if (!secret)
    throw new ProlongError("invalid_config", `the stored secret ${name} is not 32 bytes of base64url`);
  return secret;
}

/** `make`'s promise, made on the first call and shared by every later one. */
function once<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => {
    made ??= make();
    return made;
  };
}

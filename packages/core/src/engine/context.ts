import type { OwnTokenCheck } from "../access-token.js";
import type { Clock } from "../clock.js";
import type { KeyRing } from "../keys.js";
import type { ScryptCost } from "../passwords.js";
import type { Policy } from "../policy.js";
import type { RandomSource } from "../random.js";
import type { RefreshTokenCodec } from "../refresh-token.js";
import type { SessionRecord, Store, SubjectRecord } from "../store/index.js";
import type { EngineEvents } from "./events.js";

/** Adds application claims to every access token; re-run on every refresh (P9). */
export type ClaimsHook = (context: {
  subject: SubjectRecord;
  session: SessionRecord;
}) => Record<string, unknown> | Promise<Record<string, unknown>>;

/**
 * What every engine operation works with, built once by `SessionEngine.create`. Each
 * operation is a function of this context and its input, in a module of its own.
 */
export interface EngineContext {
  readonly store: Store;
  readonly policy: Policy;
  /** `iss` of every access token (RFC 9068 §2.2). */
  readonly issuer: string;
  /** `aud` of every access token. */
  readonly audience: string;
  readonly clock: Clock;
  readonly random: RandomSource;
  /** Mints, opens and derives refresh tokens under the store's secret. */
  readonly codec: RefreshTokenCodec;
  readonly keys: KeyRing;
  /** Verifies an access token this server issued (`@prolong/verify`, fed by the key ring). */
  readonly checkToken: OwnTokenCheck;
  readonly claims: ClaimsHook;
  readonly events: EngineEvents;
  /**
   * How long (ms) after a revocation some access token it covers may still be accepted:
   * the longest access-token lifetime plus the clock skew verifiers tolerate. The feed
   * keeps a revocation that long, and upkeep never purges inside it.
   */
  readonly relevanceMs: number;
  readonly passwordCost: ScryptCost;
  /** The longest impersonation session, in seconds (impersonation.ts). */
  readonly impersonationMaxTtl: number;
  /**
   * Verified against on unknown usernames, so a miss takes as long as a wrong password.
   * Made on first use: a process that never signs anyone in (the CLI) never pays its scrypt.
   */
  readonly decoyHash: () => Promise<string>;
}

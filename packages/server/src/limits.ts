import {
  type GrantBudget,
  isProlongError,
  normalizeUsername,
  type Policy,
  ProlongError,
  type RateLimitStore,
  type RateWindow,
} from "@prolong/core";
import { EARLIEST_RENEWAL } from "@prolong/protocol";
import { addressKey } from "./client-address.js";
import { type RateLimitConfig, secondsUntilReset } from "./rate-limit.js";
import { overlay } from "./setting-tree.js";

/**
 * The budgets of `rateLimits` in the configuration. Only failures spend them. A client
 * that proves an earlier sign-in to the account (a device token) answers to its own
 * budget only, so a valid credential from it is
 * never refused for what others did; docs/security.md states when a correct password can
 * still be refused.
 */
export interface RateLimits {
  /** Wrong passwords (sign-in and `POST /password`) from one address, any account. */
  login: RateLimitConfig;
  /** Wrong passwords for one account, from any address. */
  loginPerAccount: RateLimitConfig;
  /**
   * Wrong passwords sent with one device token, the only
   * budget such attempts answer to: a stolen device cookie buys this many guesses.
   */
  loginPerDevice: RateLimitConfig;
  /** Failed token-endpoint grants from one address (tokens we never issued, failed exchanges). */
  failedGrants: RateLimitConfig;
  /**
   * Refresh-token rotations (stragglers' answers included; grace-window replays are free)
   * and exchanges of one session, plus its failed refreshes.
   */
  grantsPerSession: RateLimitConfig;
}

export type RateLimitName = keyof RateLimits;

const fixedDefaults: Omit<RateLimits, "grantsPerSession"> = {
  login: { max: 30, windowSeconds: 300 },
  loginPerAccount: { max: 10, windowSeconds: 300 },
  loginPerDevice: { max: 5, windowSeconds: 900 },
  failedGrants: { max: 60, windowSeconds: 60 },
};

/** The per-session default when no profile needs more. */
const SESSION_FLOOR: RateLimitConfig = { max: 20, windowSeconds: 60 };

/**
 * Rotations a session of `accessTokenTtl` seconds needs per window: clients renew no
 * sooner than `EARLIEST_RENEWAL` (half-way) through an access token's life, so 5 s
 * tokens renew at most every 2.5 s.
 */
function rotationsNeeded(accessTokenTtl: number, windowSeconds: number): number {
  return Math.ceil(windowSeconds / (accessTokenTtl * EARLIEST_RENEWAL));
}

/** A budget as configured: either field may be left out and keep its default. */
export type RateLimitOverrides = { [name in RateLimitName]?: Partial<RateLimitConfig> };

/**
 * The budgets in force: the configured fields over the defaults ({@link overlay}). The
 * per-session default is twice what the profile with the shortest access tokens needs
 * (and at least 20 a minute); a per-session budget set in part or whole that cannot carry
 * some profile's refreshes is an `invalid_config` naming the setting and the profile,
 * because its sessions would be answered 429 in the middle of ordinary use.
 */
export function resolveRateLimits(configured: RateLimitOverrides, policy: Policy): RateLimits {
  const profiles = Object.entries(policy.profiles);
  const shortest = Math.min(...profiles.map(([, p]) => p.accessTokenTtl));
  const defaults: RateLimits = {
    ...fixedDefaults,
    grantsPerSession: {
      max: Math.max(SESSION_FLOOR.max, 2 * rotationsNeeded(shortest, SESSION_FLOOR.windowSeconds)),
      windowSeconds: SESSION_FLOOR.windowSeconds,
    },
  };
  const budgets = overlay(defaults, configured);
  if (configured.grantsPerSession) {
    const session = budgets.grantsPerSession;
    for (const [name, profile] of profiles) {
      const needed = rotationsNeeded(profile.accessTokenTtl, session.windowSeconds);
      if (session.max < needed) {
        throw new ProlongError(
          "invalid_config",
          `rateLimits.grantsPerSession: ${session.max} per ${session.windowSeconds} s is too few for profile "${name}", whose ${profile.accessTokenTtl} s access tokens are refreshed up to ${needed} times per ${session.windowSeconds} s; allow at least ${needed} (${2 * needed} leaves room for retries)`,
        );
      }
    }
  }
  return budgets;
}

/**
 * Who gets slowed down, and when. Built on a {@link RateLimitStore}, so the counters
 * can move to a shared store without touching the rules.
 *
 * Passwords. Every wrong password counts against its address, its account, and the
 * (account, address) pair. An attempt is refused without checking the password only
 * when that pair already failed in the current window AND its address or its account
 * has used up its budget. So:
 * - each account gets at least one honest try per window from every address: nobody can
 *   lock a user out, and failures for alice never stop bob on the same address (an
 *   office or carrier NAT). At worst a user who mistyped while their account or their
 *   address is under attack waits until the window ends (`Retry-After`);
 * - a password-spraying address (many accounts, few guesses each) drops to one guess
 *   per account per window once it has spent the address's budget;
 * - one account guessed from many addresses drops to one guess per address per window,
 *   and from one address it stops after the account's budget.
 * A plain per-account lock-out was rejected: anyone who knows a username could keep its
 * owner out.
 *
 * Known devices. The rules above can still keep out a user whose own typo came while
 * their address or account was under attack. A client that signed in to the account
 * before proves it with a device token (device-tokens.ts, after OWASP's device cookies)
 * and is then judged by its own budget alone: its attempt is refused only when that proof already failed `loginPerDevice.max`
 * times in the window, whatever its address or account has seen. Its wrong passwords
 * still count against its address and account, as every wrong password does, so they
 * slow down the clients without proof there. A proof names one account, so a stolen
 * device cookie buys a few guesses per window at that account and none at others.
 *
 * Tokens. A refresh token is HMAC-tagged (docs/protocol.md), so whether we issued it is
 * known without the store. Tokens we never issued (garbage, truncated, forged) and
 * failed exchanges count against the address; past its budget they are answered 429,
 * while a valid refresh token or access token still gets through. A token we issued is
 * never refused for its address: it is limited per session only, where rotations count
 * and replays inside the grace window (twenty tabs waking at once) do not. That budget
 * ({@link Limits.sessionBudget}) is kept by the session store, which checks and spends
 * it in the very call that rotates (or, for an exchange, touches) the session: one round
 * trip per refresh, and a refused one rotates nothing.
 */
export class Limits {
  readonly budgets: RateLimits;
  readonly #store: RateLimitStore;
  readonly #now: () => number;

  constructor(store: RateLimitStore, budgets: RateLimits, now: () => number) {
    this.#store = store;
    this.budgets = budgets;
    this.#now = now;
  }

  /**
   * Checks a password under the limits: `check` runs (and verifies the password) unless
   * the attempt is refused, in which case it does not run at all. A wrong password is
   * `check` throwing `invalid_credentials`; its error, like any other, reaches the caller.
   * `device` names a proof of an earlier sign-in to `account` (the id of a device token
   * that checked out for it), whose attempts answer to its budget alone.
   *
   * The attempt is counted before `check` runs and taken back unless the password was
   * wrong, so guesses sent in parallel see each other: a burst of a thousand is not a
   * thousand first tries.
   */
  async checkPassword<T>(
    account: string,
    ip: string,
    check: () => Promise<T>,
    device: string | null = null,
  ): Promise<{ refused: false; result: T } | { refused: true; retryAfter: number }> {
    const address = addressKey(ip);
    const { login, loginPerAccount, loginPerDevice } = this.budgets;
    const shared = [
      { key: `pw:addr:${address}`, windowSeconds: login.windowSeconds },
      { key: `pw:acct:${account}`, windowSeconds: loginPerAccount.windowSeconds },
    ];
    const own =
      device === null
        ? {
            key: pairKey(account, address),
            windowSeconds: Math.max(login.windowSeconds, loginPerAccount.windowSeconds),
          }
        : { key: `pw:device:${device}`, windowSeconds: loginPerDevice.windowSeconds };
    const counters = [own, ...shared];
    const started = this.#now();
    const [mine, byAddress, byAccount] = (await Promise.all(
      counters.map(({ key, windowSeconds }) => this.#store.hit(key, windowSeconds * 1000, started)),
    )) as [RateWindow, RateWindow, RateWindow];
    const takeBack = () => Promise.all(counters.map(({ key }) => this.#store.takeBack(key, this.#now())));

    // Counts include this attempt. A known device: refused once it failed its budget's
    // worth. Otherwise: when the pair already failed (two or more) and the address's or
    // the account's budget is spent.
    const spent =
      device === null
        ? [
            byAddress.count > login.max ? byAddress : null,
            byAccount.count > loginPerAccount.max ? byAccount : null,
          ].filter((w) => w !== null)
        : [];
    const refused = device === null ? mine.count > 1 && spent.length > 0 : mine.count > loginPerDevice.max;
    if (refused) {
      await takeBack();
      // The refusal lifts when the pair's (or the device's) window ends or a spent budget refills.
      const now = this.#now();
      const retryAfter = Math.min(...[mine, ...spent].map((w) => secondsUntilReset(w, now)));
      return { refused: true, retryAfter };
    }
    let wrongPassword = false;
    try {
      return { refused: false, result: await check() };
    } catch (error) {
      wrongPassword = isProlongError(error, "invalid_credentials");
      throw error;
    } finally {
      if (!wrongPassword) await takeBack();
    }
  }

  /**
   * Counts a grant that failed with a credential we never issued; returns the seconds
   * to wait when `ip` is now over its budget (answer 429), else 0.
   */
  async grantFailed(ip: string): Promise<number> {
    const now = this.#now();
    const key = `grant:addr:${addressKey(ip)}`;
    const window = await this.#store.hit(key, this.budgets.failedGrants.windowSeconds * 1000, now);
    return window.count > this.budgets.failedGrants.max ? secondsUntilReset(window, now) : 0;
  }

  /**
   * The per-session budget as the session store keeps it: a refresh hands it to the
   * rotation, which checks and spends it in the same store call (RotateOutcome).
   */
  get sessionBudget(): GrantBudget {
    const { max, windowSeconds } = this.budgets.grantsPerSession;
    return { max, windowMs: windowSeconds * 1000 };
  }
}

/**
 * The account a username names, as limits count it: the normalized username, so `Alice`
 * and `alice` share a budget; one that cannot be a username counts as typed.
 */
export function accountOf(username: string): string {
  try {
    return normalizeUsername(username);
  } catch {
    return username;
  }
}

const pairKey = (account: string, address: string) => `pw:pair:${JSON.stringify([account, address])}`;

import { type DpopKeyStore, type DpopOption, keyStoreOf } from "./dpop-key.js";
import type { Timers } from "./schedule.js";
import { memoryStorage, type TokenStorage } from "./storage.js";

/** The subset of the Web Locks API the client uses. */
export interface LockManagerLike {
  request<T>(name: string, options: { signal: AbortSignal }, callback: () => Promise<T>): Promise<T>;
}

/** The subset of BroadcastChannel the client uses. */
export interface ChannelLike {
  postMessage(message: unknown): void;
  addEventListener(type: "message", listener: (event: { data: unknown }) => void): void;
  close(): void;
}

export interface SessionClientOptions {
  /** The prolong server's URL (its issuer); endpoints come from its RFC 8414 metadata. */
  issuer: string;
  /** `web`: refresh token in an httpOnly cookie; `native`: in `storage`. Default: `web` in browsers. */
  profile?: "web" | "native";
  /** Default: the profile's name, as the server's default clients are called. */
  clientId?: string;
  /** Native only: where the refresh token lives. Default: memory. */
  storage?: TokenStorage;
  /** Renew at the token's `rfa`, or this many seconds before `exp` if earlier (default 30)... */
  lead?: number;
  /** ...less up to this many random seconds (default 10), so tabs and devices spread out. */
  jitter?: number;
  /** Sign out after this many ms without user activity; `null` (default) never. */
  idleTimeout?: number | null;
  /** DOM events that count as activity. */
  activityEvents?: string[];
  fetch?: typeof fetch;
  now?: () => number;
  random?: () => number;
  timers?: Timers;
  /** Web Locks; default `navigator.locks` when present, `null` to turn off. */
  locks?: LockManagerLike | null;
  /**
   * Opens the cross-tab channel; called on every start, the channel closed on `stop()`.
   * Default: a BroadcastChannel when present (web profile); `null` to turn off.
   */
  channel?: ((name: string) => ChannelLike) | null;
  /** Where activity, `visibilitychange`, `focus` and `online` are heard; default `window`. */
  target?: EventTarget | null;
  /** Longest wait between retries of a failing refresh, ms (default 30 000). */
  maxRetryDelay?: number;
  /** Longest wait for one request to the server, ms (default 10 000); a timeout counts as a network failure. */
  requestTimeout?: number;
  /** Longest wait for the cross-tab refresh lock, ms (default 5 000); then this tab refreshes on its own. */
  lockTimeout?: number;
  /** Origins besides the issuer's that `fetch` and the axios adapter send the access token to. */
  allowedOrigins?: string[];
  /**
   * DPoP (RFC 9449): `true` binds the session to a non-extractable P-256 key, kept in
   * IndexedDB in browsers (one per issuer and client, shared by tabs) and in memory in
   * Node; `{ keyStore }` keeps it where the host says. Default: off.
   */
  dpop?: DpopOption;
}

/**
 * A token answer (RFC 6749 §5.1) as a host hands it to its page: the body its own login's
 * `startSession` returns (docs/own-login.md), or the session a server-rendered page was
 * rendered with.
 */
export interface TokenAnswer {
  access_token: string;
  /**
   * Seconds the token had left when the answer was made. Optional for a token just issued;
   * a server-rendered page gives what is left (`Math.floor((expiresAt - Date.now()) / 1000)`):
   * without it the client would take an older token for a new one, and renew it late.
   */
  expires_in?: number;
  /** Native only: the refresh token, kept in `storage`. A web answer has none (the cookie holds it). */
  refresh_token?: string;
}

/** The options with every default filled in. */
export type Settings = Required<
  Omit<SessionClientOptions, "idleTimeout" | "locks" | "channel" | "target" | "dpop">
> & {
  /** The DPoP key's store, `null` without DPoP. */
  dpop: DpopKeyStore | null;
  idleTimeout: number | null;
  locks: LockManagerLike | null;
  channel: ((name: string) => ChannelLike) | null;
  target: EventTarget | null;
};

/** What the client uses of the page it runs in, when it runs in one. */
export const host = globalThis as {
  navigator?: { locks?: LockManagerLike };
  BroadcastChannel?: new (name: string) => ChannelLike;
  window?: EventTarget;
  document?: EventTarget & { visibilityState?: string };
  location?: { href: string };
};

/** The options given, over the defaults of the platform the client runs on. */
export function settingsOf(options: SessionClientOptions): Settings {
  const browser = typeof host.document !== "undefined";
  const profile = options.profile ?? (browser ? "web" : "native");
  const Channel = host.BroadcastChannel;
  const clientId = options.clientId ?? profile;
  return {
    profile,
    clientId,
    storage: memoryStorage(),
    lead: 30,
    jitter: 10,
    idleTimeout: null,
    activityEvents: ["pointerdown", "keydown", "wheel", "touchstart"],
    fetch: (...args) => fetch(...args),
    now: () => Date.now(),
    random: Math.random,
    // Called as methods of the global object, as they must be in browsers, and looked up at
    // each call, so fake timers installed later are used.
    timers: globalThis as Timers,
    locks: host.navigator?.locks ?? null,
    channel: profile === "web" && Channel ? (name) => new Channel(name) : null,
    target: browser ? (host.window ?? null) : null,
    maxRetryDelay: 30_000,
    requestTimeout: 10_000,
    lockTimeout: 5_000,
    allowedOrigins: [],
    ...options,
    dpop: keyStoreOf(options.dpop, `${clientId}@${options.issuer}`),
  };
}

/** Where the access token may go: the issuer's origin and `allowedOrigins`. */
export function originsOf(settings: Settings): Set<string> {
  return new Set([new URL(settings.issuer).origin, ...settings.allowedOrigins.map(originOf)]);
}

/** An origin as `URL#origin` spells it; a path, query or missing scheme is a mistake worth stopping for. */
function originOf(value: string): string {
  try {
    const url = new URL(value);
    if (url.href === `${url.origin}/`) return url.origin;
  } catch {
    // Reported below, with the value that is wrong.
  }
  const message = `allowedOrigins: "${value}" is not an origin`;
  throw Object.assign(new TypeError(message), { code: "invalid_origin" });
}

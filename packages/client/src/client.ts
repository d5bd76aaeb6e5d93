import { readClaims } from "./claims.js";
import {
  type AccessTokenClaims,
  type ClientEvents,
  Emitter,
  type RefreshSource,
  type SignOutReason,
} from "./events.js";
import { Deadline, type Timers } from "./schedule.js";
import { memoryStorage, type TokenStorage } from "./storage.js";

/** The subset of the Web Locks API the client uses. */
export interface LockManagerLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
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
  /** Renew this many seconds before `exp` (default 30)... */
  lead?: number;
  /** ...plus up to this many random seconds (default 10), so tabs and devices spread out. */
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
  /** Cross-tab channel; default a BroadcastChannel when present, `null` to turn off. */
  channel?: ChannelLike | null;
  /** Where activity, `visibilitychange`, `focus` and `online` are heard; default `window`. */
  target?: EventTarget | null;
  /** Longest wait between retries of a failing refresh, ms (default 30 000). */
  maxRetryDelay?: number;
}

interface Metadata {
  token_endpoint: string;
  login_endpoint: string;
  issuer: string;
}

/** How long a new tab waits for an open one to share its token before refreshing itself. */
const HELLO_WAIT_MS = 150;
/** How long a tab holding the refresh lock waits for a peer's fresher token before refreshing. */
const PEER_WAIT_MS = 250;

/** Statuses worth retrying: the server or the network is in trouble, not the session. */
const TRANSIENT = (status: number) => status === 429 || status >= 500;

/** prolong's fine error codes mapped to the reason a session ended (docs/protocol.md). */
function reasonOf(code: string | undefined): SignOutReason {
  if (code === "reuse_detected") return "reused";
  if (code === "session_expired" || code === "token_expired") return "expired";
  return "revoked";
}

const g = globalThis as {
  navigator?: { locks?: LockManagerLike };
  BroadcastChannel?: new (name: string) => ChannelLike;
  window?: EventTarget;
  document?: EventTarget & { visibilityState?: string };
};

/**
 * Keeps a prolong session alive: renews the access token before it expires (on the
 * server's clock), once for all concurrent callers and all tabs, retries through
 * network trouble, and ends the session once, with one event, when the server says so.
 */
export class SessionClient {
  readonly #o: Required<Omit<SessionClientOptions, "idleTimeout" | "locks" | "channel" | "target">> & {
    idleTimeout: number | null;
    locks: LockManagerLike | null;
    channel: ChannelLike | null;
    target: EventTarget | null;
  };
  readonly #events = new Emitter();
  readonly #renewal: Deadline;
  readonly #idle: Deadline;
  #metadata: Promise<Metadata> | null = null;
  #accessToken: string | null = null;
  #claims: AccessTokenClaims | null = null;
  /** Server clock minus ours, in ms, learnt from each token's `iat`. */
  #offset = 0;
  #inflight: Promise<boolean> | null = null;
  /** Another tab has spoken on the channel, so there is someone to ask. */
  #peers = false;
  #onFreshToken: (() => void) | null = null;
  #lastActivity: number;
  #stopped = false;
  #listening: [string, () => void][] = [];

  constructor(options: SessionClientOptions) {
    const browser = typeof g.document !== "undefined";
    const profile = options.profile ?? (browser ? "web" : "native");
    this.#o = {
      profile,
      clientId: profile,
      storage: memoryStorage(),
      lead: 30,
      jitter: 10,
      idleTimeout: null,
      activityEvents: ["pointerdown", "keydown", "wheel", "touchstart"],
      fetch: (...args) => globalThis.fetch(...args),
      now: () => Date.now(),
      random: Math.random,
      timers: { setTimeout: (f, ms) => setTimeout(f, ms), clearTimeout: (h) => clearTimeout(h as number) },
      locks: g.navigator?.locks ?? null,
      channel:
        profile === "web" && g.BroadcastChannel ? new g.BroadcastChannel(`prolong:${options.issuer}`) : null,
      target: browser ? (g.window ?? null) : null,
      maxRetryDelay: 30_000,
      ...options,
    };
    this.#renewal = new Deadline(this.#o.timers, this.#o.now);
    this.#idle = new Deadline(this.#o.timers, this.#o.now);
    this.#lastActivity = this.#o.now();
    this.#o.channel?.addEventListener("message", (event) => this.#onMessage(event.data));
    this.#listen();
  }

  /** Subscribe to `authorized`, `refreshed`, `signedOut` or `error`; returns the unsubscribe function. */
  on<K extends keyof ClientEvents>(type: K, listener: (event: ClientEvents[K]) => void): () => void {
    return this.#events.on(type, listener);
  }

  get accessToken(): string | null {
    return this.#accessToken;
  }

  get claims(): AccessTokenClaims | null {
    return this.#claims;
  }

  /** Server time now, in ms, as far as the last token told us. */
  serverNow(): number {
    return this.#o.now() + this.#offset;
  }

  /** Signs in with a username and password at the server's login endpoint. */
  async signIn(input: { username: string; password: string; deviceName?: string }): Promise<void> {
    const { login_endpoint } = await this.#meta();
    const response = await this.#o.fetch(login_endpoint, {
      method: "POST",
      headers: { "content-type": "application/json" },
      credentials: "include",
      body: JSON.stringify({
        username: input.username,
        password: input.password,
        client_id: this.#o.clientId,
        ...(input.deviceName ? { device_name: input.deviceName } : {}),
      }),
    });
    const body = (await response.json().catch(() => ({}))) as Record<string, string>;
    if (!response.ok)
      throw Object.assign(new Error(body.message ?? "sign-in failed"), { status: response.status, body });
    this.#stopped = false;
    this.#lastActivity = this.#o.now();
    await this.#adopt(body, null);
  }

  /** Resumes an existing session (the cookie, or the stored token); `false` when there is none. */
  async start(): Promise<boolean> {
    this.#stopped = false;
    if (this.#o.profile === "native" && !(await this.#o.storage.get())) return false;
    // A new tab first asks the open ones for their token, so opening tabs costs no refresh.
    if (this.#o.channel) {
      this.#o.channel.postMessage({ type: "hello" });
      await new Promise((resolve) => this.#o.timers.setTimeout(() => resolve(undefined), HELLO_WAIT_MS));
      if (this.#accessToken && !this.#expired()) return true;
    }
    return this.refresh("resume");
  }

  /** Records user activity where no DOM events exist (Node); keeps the idle timer at bay. */
  touch(): void {
    this.#lastActivity = this.#o.now();
    this.#armIdle();
  }

  /** The current access token, renewed first if it is due or gone; `null` when signed out. */
  async getAccessToken(): Promise<string | null> {
    if (this.#accessToken && !this.#expired()) return this.#accessToken;
    if (this.#stopped) return null;
    return (await this.refresh("reactive")) ? this.#accessToken : null;
  }

  /**
   * `fetch` with the access token attached. A `401 invalid_token` triggers one refresh
   * and one retry; a body that cannot be read twice (a stream) is not retried.
   */
  async fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const request = new Request(input, init);
    const replayable = !(init?.body instanceof ReadableStream);
    const send = async (token: string | null, req: Request) => {
      const headers = new Headers(req.headers);
      if (token) headers.set("authorization", `Bearer ${token}`);
      return this.#o.fetch(new Request(req, { headers }));
    };
    const token = await this.getAccessToken();
    const response = await send(token, replayable ? request.clone() : request);
    if (
      response.status === 401 &&
      replayable &&
      /invalid_token/.test(response.headers.get("www-authenticate") ?? "")
    ) {
      // Another caller may have renewed meanwhile; only refresh if the token is still the one refused.
      const renewed = this.#accessToken !== token ? true : await this.refresh("reactive");
      if (renewed && this.#accessToken) return send(this.#accessToken, request);
    } else if (response.headers.get("prolong-refresh") === "soon" && this.#accessToken === token) {
      void this.refresh("soft-expiry");
    }
    return response;
  }

  /** Renews now. Concurrent calls share one request, and with Web Locks so do tabs. */
  refresh(source: RefreshSource = "manual"): Promise<boolean> {
    this.#inflight ??= this.#refreshShared(source).finally(() => {
      this.#inflight = null;
    });
    return this.#inflight;
  }

  /** Ends the session on the server and here. */
  async signOut(): Promise<void> {
    if (this.#accessToken) await this.#logoutAtServer(this.#accessToken);
    await this.#end("logout");
  }

  /** Ends the session at the server too; best effort, the local sign-out happens regardless. */
  async #logoutAtServer(token: string): Promise<void> {
    try {
      const { issuer } = await this.#meta();
      await this.#o.fetch(`${issuer}/logout`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        credentials: "include",
        body: "{}",
      });
    } catch {
      // Offline or the server is gone: the token expires on its own soon.
    }
  }

  /** Cancels every timer and listener; the client does nothing more until `start` or `signIn`. */
  stop(): void {
    this.#stopped = true;
    this.#renewal.clear();
    this.#idle.clear();
    for (const [type, listener] of this.#listening) this.#o.target?.removeEventListener(type, listener);
    this.#listening = [];
    this.#o.channel?.close();
  }

  // ---- internals ---------------------------------------------------------------

  #meta(): Promise<Metadata> {
    this.#metadata ??= this.#o
      .fetch(`${this.#o.issuer.replace(/\/+$/, "")}/.well-known/oauth-authorization-server`)
      .then((r) => {
        if (!r.ok) throw new Error(`metadata answered ${r.status}`);
        return r.json() as Promise<Metadata>;
      })
      .catch((error) => {
        this.#metadata = null;
        throw error;
      });
    return this.#metadata;
  }

  #expired(): boolean {
    return !this.#claims || this.serverNow() >= this.#claims.exp * 1000;
  }

  async #refreshShared(source: RefreshSource): Promise<boolean> {
    const locks = this.#o.locks;
    if (!locks) return this.#refreshNow(source);
    const before = this.#accessToken;
    return locks.request(`prolong-refresh:${this.#o.issuer}`, async () => {
      // While we waited for the lock another tab may have renewed and told us...
      if (this.#accessToken !== before && this.#accessToken && !this.#due()) return true;
      // ...or renewed and not told us yet: the lock can pass before its message arrives.
      if (this.#peers && (await this.#askPeers())) return true;
      return this.#refreshNow(source);
    });
  }

  /** Asks the other tabs for their token; true once a fresh one arrives, false after a short wait. */
  #askPeers(): Promise<boolean> {
    const channel = this.#o.channel;
    if (!channel) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = this.#o.timers.setTimeout(() => {
        this.#onFreshToken = null;
        resolve(false);
      }, PEER_WAIT_MS);
      this.#onFreshToken = () => {
        if (!this.#accessToken || this.#due()) return;
        this.#o.timers.clearTimeout(timer);
        this.#onFreshToken = null;
        resolve(true);
      };
      channel.postMessage({ type: "hello" });
    });
  }

  /** Whether the token has reached its renewal point. */
  #due(): boolean {
    return !this.#claims || this.serverNow() >= this.#renewAt(this.#claims);
  }

  async #refreshNow(source: RefreshSource): Promise<boolean> {
    for (let attempt = 0; !this.#stopped; attempt++) {
      let response: Response;
      try {
        const { token_endpoint } = await this.#meta();
        const form = new URLSearchParams({ grant_type: "refresh_token", client_id: this.#o.clientId });
        const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" };
        if (this.#o.profile === "native") {
          const stored = await this.#o.storage.get();
          if (!stored) return false;
          form.set("refresh_token", stored);
        } else {
          headers["prolong-csrf"] = "1";
        }
        response = await this.#o.fetch(token_endpoint, {
          method: "POST",
          headers,
          body: form,
          credentials: "include",
        });
      } catch (error) {
        if (!(await this.#retry(attempt, error, null))) return false;
        continue;
      }
      if (TRANSIENT(response.status)) {
        if (!(await this.#retry(attempt, new Error(`token endpoint answered ${response.status}`), response)))
          return false;
        continue;
      }
      const body = (await response.json().catch(() => ({}))) as Record<string, string>;
      if (response.ok) {
        await this.#adopt(body, source);
        return true;
      }
      // A resume that finds no session is not a sign-out: there was nothing to end.
      if (source === "resume" && !this.#accessToken && body.error === "invalid_request") return false;
      await this.#end(reasonOf(body.prolong_error ?? body.error));
      return false;
    }
    return false;
  }

  /**
   * Waits before another attempt, with exponential backoff and jitter, honouring
   * Retry-After. Gives up (false) once the current token has expired: requests will
   * trigger a fresh attempt, and `online` or a wake-up will too.
   */
  async #retry(attempt: number, error: unknown, response: Response | null): Promise<boolean> {
    this.#events.emit("error", { error });
    if (this.#expired()) {
      this.#scheduleRetry(attempt);
      return false;
    }
    const retryAfter = Number(response?.headers.get("retry-after"));
    const backoff = Math.min(this.#o.maxRetryDelay, 500 * 2 ** attempt) * (0.5 + this.#o.random() / 2);
    const wait = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : backoff;
    await new Promise((resolve) => this.#o.timers.setTimeout(() => resolve(undefined), wait));
    return !this.#stopped;
  }

  #scheduleRetry(attempt: number): void {
    const wait = Math.min(this.#o.maxRetryDelay, 500 * 2 ** attempt);
    this.#renewal.set(this.#o.now() + wait, () => void this.refresh("proactive"));
  }

  async #adopt(body: Record<string, string>, source: RefreshSource | null): Promise<void> {
    const token = body.access_token;
    const claims = token ? readClaims(token) : null;
    if (!token || !claims) throw new Error("the server's token response has no usable access token");
    if (this.#o.profile === "native" && body.refresh_token) await this.#o.storage.set(body.refresh_token);
    this.#use(token, claims);
    this.#o.channel?.postMessage({ type: "tokens", accessToken: token });
    if (source === null || source === "resume")
      this.#events.emit("authorized", { accessToken: token, claims });
    if (source !== null) this.#events.emit("refreshed", { accessToken: token, claims, source });
  }

  #use(token: string, claims: AccessTokenClaims): void {
    this.#accessToken = token;
    this.#claims = claims;
    this.#offset = claims.iat * 1000 - this.#o.now();
    this.#jitterMs = this.#o.random() * this.#o.jitter * 1000;
    this.#renewal.set(this.#renewAt(claims) - this.#offset, () => void this.#renewIfActive());
    this.#armIdle();
  }

  #jitterMs = 0;

  /** Server time (ms) to renew: `lead` + jitter before `exp`, or `rfa` if earlier, never before half-life. */
  #renewAt(claims: AccessTokenClaims): number {
    const exp = claims.exp * 1000;
    const early = exp - this.#o.lead * 1000 - this.#jitterMs;
    const rfa = claims.rfa !== undefined ? claims.rfa * 1000 : Number.POSITIVE_INFINITY;
    const halfLife = claims.iat * 1000 + (exp - claims.iat * 1000) / 2;
    return Math.max(Math.min(early, rfa), halfLife);
  }

  async #renewIfActive(): Promise<void> {
    if (this.#isIdle()) return this.#end("idle", true);
    await this.refresh("proactive");
  }

  #isIdle(): boolean {
    return this.#o.idleTimeout !== null && this.#o.now() - this.#lastActivity >= this.#o.idleTimeout;
  }

  #armIdle(): void {
    if (this.#o.idleTimeout === null || !this.#accessToken) return;
    this.#idle.set(this.#lastActivity + this.#o.idleTimeout, () => {
      if (this.#isIdle()) void this.#end("idle", true);
      else this.#armIdle();
    });
  }

  /** Ends the session here once: one `signedOut` event, other tabs told. */
  async #end(reason: SignOutReason, tellServer = false): Promise<void> {
    if (!this.#accessToken && reason !== "logout") {
      this.#renewal.clear();
      this.#idle.clear();
      return;
    }
    const token = this.#accessToken;
    this.#accessToken = null;
    this.#claims = null;
    this.#renewal.clear();
    this.#idle.clear();
    if (this.#o.profile === "native") await this.#o.storage.set(null);
    this.#o.channel?.postMessage({ type: "signedOut", reason });
    this.#events.emit("signedOut", { reason });
    if (tellServer && token) await this.#logoutAtServer(token);
  }

  #onMessage(data: unknown): void {
    this.#peers = true;
    const message = data as { type?: string; accessToken?: string; reason?: SignOutReason; at?: number };
    if (message.type === "hello" && this.#accessToken && !this.#expired()) {
      this.#o.channel?.postMessage({ type: "tokens", accessToken: this.#accessToken });
    } else if (
      message.type === "tokens" &&
      message.accessToken &&
      message.accessToken !== this.#accessToken
    ) {
      const claims = readClaims(message.accessToken);
      if (!claims) return;
      const first = this.#accessToken === null;
      this.#use(message.accessToken, claims);
      if (first) this.#events.emit("authorized", { accessToken: message.accessToken, claims });
      this.#events.emit("refreshed", { accessToken: message.accessToken, claims, source: "other-tab" });
      this.#onFreshToken?.();
    } else if (message.type === "signedOut" && this.#accessToken) {
      this.#accessToken = null;
      this.#claims = null;
      this.#renewal.clear();
      this.#idle.clear();
      this.#events.emit("signedOut", { reason: message.reason ?? "revoked" });
    } else if (message.type === "activity" && typeof message.at === "number") {
      this.#lastActivity = Math.max(this.#lastActivity, message.at);
      this.#armIdle();
    }
  }

  #lastShared = 0;

  #listen(): void {
    const target = this.#o.target;
    if (!target) return;
    const wake = () => {
      this.#renewal.check();
      this.#idle.check();
    };
    const activity = () => {
      const now = this.#o.now();
      this.#lastActivity = now;
      // Tell other tabs now and then, so activity anywhere keeps every tab alive.
      if (now - this.#lastShared > 5000) {
        this.#lastShared = now;
        this.#o.channel?.postMessage({ type: "activity", at: now });
      }
    };
    for (const type of ["visibilitychange", "focus", "online", "pageshow"])
      this.#listening.push([type, wake]);
    for (const type of this.#o.activityEvents) this.#listening.push([type, activity]);
    for (const [type, listener] of this.#listening)
      target.addEventListener(type, listener, { passive: true } as never);
  }
}

/** Creates a session client; call `start()` to resume or `signIn()` to begin. */
export function createSessionClient(options: SessionClientOptions): SessionClient {
  return new SessionClient(options);
}

import {
  type AccessTokenClaims,
  type AuthorizationServerMetadata,
  CSRF_HEADER,
  CSRF_VALUE,
  type ErrorBody,
  GRANT_TYPE_HANDOFF,
  GRANT_TYPE_REFRESH_TOKEN,
  METADATA_PATH,
  SOFT_EXPIRY_HEADER,
  SOFT_EXPIRY_VALUE,
} from "@prolong/protocol";
import { readClaims } from "./claims.js";
import {
  type ClientErrorCode,
  type ClientEvents,
  Emitter,
  type RefreshSource,
  type SignOutReason,
} from "./events.js";
import { Deadline, type Timers } from "./schedule.js";
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
}

/**
 * A token answer (RFC 6749 §5.1) as a host's own login hands it to its page: the body
 * `startSession` returns (docs/own-login.md). The access token's own claims say when it
 * expires; `expires_in` may be there and is not needed.
 */
export interface TokenAnswer {
  access_token: string;
  expires_in?: number;
  /** Native only: the refresh token, kept in `storage`. A web answer has none (the cookie holds it). */
  refresh_token?: string;
}

/** What the client reads of the server's RFC 8414 metadata. */
type Metadata = Pick<
  AuthorizationServerMetadata,
  "token_endpoint" | "login_endpoint" | "revocation_endpoint"
>;

type Body = Record<string, string>;
/** A JSON answer of the server: tokens (RFC 6749 §5.1) or an error (docs/protocol.md, "Errors"). */
type Answer = Body & Partial<ErrorBody>;

/** How long a new tab waits for an open one to share its token before refreshing itself. */
const HELLO_WAIT_MS = 150;
/** How long a tab holding the refresh lock waits for a peer's fresher token before refreshing. */
const PEER_WAIT_MS = 250;

/**
 * What an answer that does not settle the session says went wrong. Only `invalid_grant`
 * (RFC 6749 §5.2, with prolong's finer code) ends a session; any other status, a proxy's
 * HTML 404 or a 403 as much as a 503, is a failure to retry.
 */
const codeOf = (status: number): ClientErrorCode =>
  status === 429 ? "rate_limited" : status >= 500 ? "server_error" : "unexpected_answer";

/** An error of ours, its `code` the `error` event's. */
const failure = (code: ClientErrorCode, message: string) => Object.assign(new Error(message), { code });

/** prolong's fine error codes mapped to the reason a session ended (docs/protocol.md). */
function reasonOf(code: ErrorBody["prolong_error"]): SignOutReason {
  if (code === "reuse_detected") return "reused";
  if (code === "session_expired" || code === "token_expired") return "expired";
  return "revoked";
}

/** A body that arrived whole: its JSON object, or `{}` when it is none (a proxy's HTML error page). */
function answerOf(text: string): Answer {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as Answer) : {};
  } catch {
    return {};
  }
}

/** RFC 9110 §10.2.3 Retry-After, delay-seconds or an HTTP-date, in ms from `now` (0 when absent). */
function retryAfter(response: Response | undefined, now: number): number {
  const value = response?.headers.get("retry-after");
  if (!value) return 0;
  const ms = /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value) - now;
  // An unreadable date is NaN: no wait asked for.
  return Math.max(ms || 0, 0);
}

/** An origin as `URL#origin` spells it; a path, query or missing scheme is a mistake worth stopping for. */
function originOf(value: string): string {
  try {
    const url = new URL(value);
    if (url.href === `${url.origin}/`) return url.origin;
  } catch {
    // Reported below, with the value that is wrong.
  }
  const message = `allowedOrigins: "${value}" is not an origin like https://api.example.com`;
  throw Object.assign(new TypeError(message), { code: "invalid_origin" });
}

const g = globalThis as {
  navigator?: { locks?: LockManagerLike };
  BroadcastChannel?: new (name: string) => ChannelLike;
  window?: EventTarget;
  document?: EventTarget & { visibilityState?: string };
  location?: { href: string };
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
    channel: ((name: string) => ChannelLike) | null;
    target: EventTarget | null;
  };
  readonly #events = new Emitter();
  readonly #renewal: Deadline;
  readonly #idle: Deadline;
  /** Where the access token may go: the issuer's origin and `allowedOrigins`. */
  readonly #origins: Set<string>;
  /** DOM listeners, added on start and removed on stop. */
  readonly #listeners: [string, () => void][];
  #metadata: Promise<Metadata> | null = null;
  #accessToken: string | null = null;
  #claims: AccessTokenClaims | null = null;
  /** Server clock minus ours, in ms, learnt from each token's `iat`. */
  #offset = 0;
  #jitterMs = 0;
  #inflight: Promise<boolean> | null = null;
  /** Bumped by sign-out and stop: work begun before must not bring a session back. */
  #generation = 0;
  /** Refresh failures in a row (anything but an answer that settles the session), across calls; the backoff grows with it. */
  #failures = 0;
  /** No refresh request before this time (ms, our clock): backoff or Retry-After. */
  #notBefore = 0;
  /** The last attempt got no answer: the backoff waits for the network, and `online` ends it. */
  #offline = false;
  /** Ends the backoff the refresh loop is sleeping through. */
  #cut: (() => void) | null = null;
  #channel: ChannelLike | null = null;
  /** Another tab has spoken on the channel, so there is someone to ask. */
  #peers = false;
  #onFreshToken: (() => void) | null = null;
  #lastActivity: number;
  #lastShared = 0;
  #running = false;
  /** Timers that `stop()` fires early: sleeps wake up, requests and lock waits abort. */
  readonly #pending = new Set<() => void>();

  constructor(options: SessionClientOptions) {
    const browser = typeof g.document !== "undefined";
    const profile = options.profile ?? (browser ? "web" : "native");
    const Channel = g.BroadcastChannel;
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
      channel: profile === "web" && Channel ? (name) => new Channel(name) : null,
      target: browser ? (g.window ?? null) : null,
      maxRetryDelay: 30_000,
      requestTimeout: 10_000,
      lockTimeout: 5_000,
      allowedOrigins: [],
      ...options,
    };
    this.#origins = new Set([new URL(this.#o.issuer).origin, ...this.#o.allowedOrigins.map(originOf)]);
    this.#renewal = new Deadline(this.#o.timers, this.#o.now);
    this.#idle = new Deadline(this.#o.timers, this.#o.now);
    this.#lastActivity = this.#o.now();
    const wake = () => {
      this.#renewal.check();
      this.#idle.check();
    };
    const online = () => {
      // The network is back: a backoff that waited for it is over (a server's Retry-After is not).
      if (this.#offline) {
        this.#offline = false;
        this.#notBefore = 0;
        this.#cut?.();
        // Joins a loop that is sleeping, or retries one that gave up until the backoff's end.
        void this.refresh("proactive");
      }
      wake();
    };
    const activity = () => {
      const now = this.#o.now();
      this.#lastActivity = now;
      // Tell other tabs now and then, so activity anywhere keeps every tab alive.
      if (now - this.#lastShared > 5000) {
        this.#lastShared = now;
        this.#channel?.postMessage({ type: "activity", at: now });
      }
    };
    this.#listeners = [
      ...["visibilitychange", "focus", "pageshow"].map((type): [string, () => void] => [type, wake]),
      ["online", online],
      ...this.#o.activityEvents.map((type): [string, () => void] => [type, activity]),
    ];
    this.#arm();
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
    this.#arm();
    const { login_endpoint } = await this.#meta();
    const [response, body] = await this.#send(login_endpoint, {
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
    await this.#begin(response, body);
  }

  /**
   * Redeems a one-time handoff code the host's backend got for a web session
   * (docs/protocol.md, "Handoff grant"): the server's answer sets the refresh cookie, and
   * the session starts here as after `signIn`. Rejects like `signIn` when refused (a used,
   * expired or unknown code is `invalid_grant`).
   */
  async redeemHandoff(code: string): Promise<void> {
    this.#arm();
    const { token_endpoint } = await this.#meta();
    const [response, body] = await this.#post(token_endpoint, { grant_type: GRANT_TYPE_HANDOFF, code });
    await this.#begin(response, body);
  }

  /** A session begun by sign-in or handoff, or the server's refusal thrown with its status, body and code. */
  async #begin(response: Response, body: Answer): Promise<void> {
    if (!response.ok) {
      const message = body.error_description ?? `the server answered ${response.status}`;
      throw Object.assign(new Error(message), {
        status: response.status,
        body,
        code: body.prolong_error ?? body.error,
      });
    }
    this.#lastActivity = this.#o.now();
    await this.#adopt(body, null);
  }

  /**
   * Resumes an existing session (the cookie, or the stored token); `false` when there is
   * none. After `stop()` it starts the client again: listeners, channel and timers.
   * Given the token answer of the host's own login, it starts that session with the
   * answer's access token and spends no refresh.
   */
  async start(answer?: TokenAnswer): Promise<boolean> {
    this.#arm();
    // An answer whose token cannot be read is no reason to fail: the cookie it set resumes.
    if (answer && readClaims(answer.access_token)) {
      this.#lastActivity = this.#o.now();
      await this.#adopt(answer as unknown as Answer, null);
      return true;
    }
    if (this.#accessToken && !this.#expired()) {
      this.#schedule();
      return true;
    }
    if (this.#o.profile === "native" && !(await this.#o.storage.get())) return false;
    // A new tab first asks the open ones for their token, so opening tabs costs no refresh.
    if (this.#channel) {
      const generation = this.#generation;
      this.#channel.postMessage({ type: "hello" });
      await this.#sleep(HELLO_WAIT_MS);
      if (generation !== this.#generation) return false;
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
    return (await this.refresh("reactive")) ? this.#accessToken : null;
  }

  /**
   * Whether `fetch` and the axios adapter send the access token to `url`: only to the
   * issuer's origin and `allowedOrigins`. Relative URLs resolve against the page.
   */
  allowsTokenFor(url: string): boolean {
    try {
      return this.#origins.has(new URL(url, g.location?.href).origin);
    } catch {
      return false;
    }
  }

  /**
   * `fetch` with the access token attached, for allowed origins only; other URLs are
   * fetched untouched. A `401 invalid_token` triggers one refresh and one retry; a body
   * that cannot be read twice (a stream) is not retried.
   */
  async fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    // A bearer token works for whoever holds it (RFC 6750 §5.2): never hand it to a third party.
    if (!this.allowsTokenFor((input as Request).url ?? String(input))) return this.#o.fetch(input, init);
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
    } else if (
      response.headers.get(SOFT_EXPIRY_HEADER) === SOFT_EXPIRY_VALUE &&
      this.#accessToken === token
    ) {
      void this.refresh("soft-expiry");
    }
    return response;
  }

  /** Renews now. Concurrent calls share one request, and with Web Locks so do tabs. */
  refresh(source: RefreshSource = "manual"): Promise<boolean> {
    if (!this.#inflight) {
      const run: Promise<boolean> = this.#refreshLoop(source).finally(() => {
        if (this.#inflight === run) this.#inflight = null;
      });
      this.#inflight = run;
    }
    return this.#inflight;
  }

  /**
   * Ends the session here and at the server. Resolves once the server was told (or could
   * not be reached: the local sign-out happens regardless).
   */
  signOut(): Promise<void> {
    return this.#end("logout", true);
  }

  /**
   * Cancels every timer, listener, lock wait and request, and closes the channel; the
   * client does nothing more until `start` or `signIn`. Calling it again does nothing.
   */
  stop(): void {
    if (!this.#running) return;
    this.#running = false;
    this.#generation++;
    this.#inflight = null;
    this.#renewal.clear();
    this.#idle.clear();
    for (const fire of [...this.#pending]) fire();
    for (const [type, listener] of this.#listeners) this.#o.target?.removeEventListener(type, listener);
    this.#channel?.close();
    this.#channel = null;
  }

  // ---- internals ---------------------------------------------------------------

  /** Listeners and the channel, once per start: a client started twice holds one of each. */
  #arm(): void {
    if (this.#running) return;
    this.#running = true;
    this.#channel = this.#o.channel?.(`prolong:${this.#o.issuer}`) ?? null;
    this.#channel?.addEventListener("message", (event) => this.#onMessage(event.data));
    for (const [type, listener] of this.#listeners)
      this.#o.target?.addEventListener(type, listener, { passive: true });
  }

  /** Calls `fire` after `ms`, or at once on `stop()` unless `outlivesStop`; returns the cancel function. */
  #after(ms: number, fire: () => void, outlivesStop = false): () => void {
    const run = () => {
      cancel();
      fire();
    };
    const handle = this.#o.timers.setTimeout(run, ms);
    const cancel = () => {
      this.#o.timers.clearTimeout(handle);
      this.#pending.delete(run);
    };
    if (!outlivesStop) this.#pending.add(run);
    return cancel;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.#after(ms, resolve));
  }

  /** One request and its JSON body, given up after `requestTimeout` (and on `stop()`, unless `outlivesStop`). */
  async #send(url: string, init?: RequestInit, outlivesStop = false): Promise<[Response, Answer]> {
    const controller = new AbortController();
    const cancel = this.#after(this.#o.requestTimeout, () => controller.abort(), outlivesStop);
    try {
      const response = await this.#o.fetch(url, { ...init, signal: controller.signal });
      // A body cut off on its way (the connection broke after the head arrived) is a lost
      // answer, not an empty one: reading it throws, and the caller retries as after any
      // network failure. A rotation the server committed is then answered again inside
      // the grace window (docs/protocol.md); read as `{}` it would end the session.
      const body = answerOf(await response.text());
      controller.signal.throwIfAborted();
      return [response, body];
    } finally {
      cancel();
    }
  }

  /**
   * A form post with the refresh credential: the stored token in `fields` (native), or the
   * cookie, which counts only with the Prolong-CSRF header (web, docs/protocol.md).
   */
  #post(url: string, fields: Body, outlivesStop = false): Promise<[Response, Answer]> {
    const headers: Body = { "content-type": "application/x-www-form-urlencoded" };
    if (this.#o.profile === "web") headers[CSRF_HEADER] = CSRF_VALUE;
    const body = new URLSearchParams({ ...fields, client_id: this.#o.clientId });
    return this.#send(url, { method: "POST", headers, credentials: "include", body }, outlivesStop);
  }

  /** The refresh credential as form fields: `{}` for web (the cookie carries it), `null` when native has none. */
  async #credential(field: string): Promise<Body | null> {
    if (this.#o.profile === "web") return {};
    const stored = await this.#o.storage.get();
    return stored ? { [field]: stored } : null;
  }

  #meta(): Promise<Metadata> {
    this.#metadata ??= this.#readMeta().catch((error) => {
      this.#metadata = null;
      throw error;
    });
    return this.#metadata;
  }

  /**
   * The RFC 8414 metadata, or a fatal error when this client can never use it: the
   * document names another issuer, or the issuer answers but not to this page.
   */
  async #readMeta(): Promise<Metadata> {
    const issuer = this.#o.issuer.replace(/\/+$/, "");
    const url = `${issuer}${METADATA_PATH}`;
    let answer: [Response, Answer];
    for (let tries = 0; ; tries++) {
      try {
        answer = await this.#send(url);
        break;
      } catch (error) {
        // A request refused by CORS and one that got no answer throw the same TypeError.
        // An opaque (no-cors) request that gets through tells them apart: the issuer is up,
        // and does not let this page read it. Once more first, lest a blip decide.
        if (!(error instanceof TypeError) || !(await this.#answersOpaque(url))) throw error;
        if (tries)
          throw this.#fatal(
            "issuer_unreachable",
            `${issuer} answers, but not to this page's origin: add it to the server's allowedOrigins, or serve the page from the issuer's origin`,
          );
      }
    }
    const [response, body] = answer;
    if (!response.ok) throw failure(codeOf(response.status), `metadata answered ${response.status}`);
    // RFC 8414 §3.3: the document must name the issuer it was fetched for; the tokens and
    // endpoints of another are not this client's (a page on 127.0.0.1, an issuer on localhost).
    if (body.issuer?.replace(/\/+$/, "") !== issuer)
      throw this.#fatal("issuer_mismatch", `the server's issuer is ${body.issuer}, not ${issuer}`);
    return body as unknown as Metadata;
  }

  /** Whether `url`, on another origin than the page's, answers a request the page may not read. */
  async #answersOpaque(url: string): Promise<boolean> {
    const page = g.location?.href;
    if (!page || new URL(url).origin === new URL(page).origin) return false;
    try {
      await this.#send(url, { mode: "no-cors", credentials: "omit" });
      return true;
    } catch {
      return false;
    }
  }

  /** Reports a mistake no retry can mend, once, and stops the client; answers the error to throw. */
  #fatal(code: ClientErrorCode, message: string): Error {
    const error = failure(code, message);
    this.#events.emit("error", { error, code, fatal: true });
    this.stop();
    return error;
  }

  #expired(): boolean {
    return !this.#claims || this.serverNow() >= this.#claims.exp * 1000;
  }

  /** Whether the token has reached its renewal point. */
  #due(): boolean {
    return !this.#claims || this.serverNow() >= this.#renewAt(this.#claims);
  }

  /**
   * Attempts until the server answers for good. Between failures it backs off; while the
   * token is still valid callers wait here, once it has expired there is nothing to give
   * them, so they get `false` and the next attempt is scheduled at the end of the backoff.
   */
  async #refreshLoop(source: RefreshSource): Promise<boolean> {
    const generation = this.#generation;
    const live = () => this.#running && generation === this.#generation;
    while (live()) {
      const wait = this.#notBefore - this.#o.now();
      if (wait > 0) {
        if (this.#expired()) {
          this.#renewal.set(this.#notBefore, () => void this.refresh("proactive"));
          return false;
        }
        await new Promise<void>((resolve) => {
          const cancel = this.#after(wait, resolve);
          this.#cut = () => {
            cancel();
            resolve();
          };
        });
        this.#cut = null;
        continue;
      }
      const settled = await this.#attempt(source, live);
      if (settled !== undefined) return settled;
    }
    return false;
  }

  /** One attempt, elected among tabs by the Web Lock: `true`/`false` once settled, `undefined` to retry. */
  async #attempt(source: RefreshSource, live: () => boolean): Promise<boolean | undefined> {
    const locks = this.#o.locks;
    if (!locks) return this.#exchange(source, live);
    const before = this.#accessToken;
    const controller = new AbortController();
    const granted = this.#after(this.#o.lockTimeout, () => controller.abort());
    try {
      return await locks.request(
        `prolong-refresh:${this.#o.issuer}`,
        { signal: controller.signal },
        async () => {
          granted();
          // While we waited for the lock another tab may have renewed and told us...
          if (this.#accessToken !== before && this.#accessToken && !this.#due()) return true;
          // ...or renewed and not told us yet: the lock can pass before its message arrives.
          if (this.#peers && (await this.#askPeers())) return true;
          return this.#exchange(source, live);
        },
      );
    } catch (error) {
      if (!controller.signal.aborted) throw error;
      // The holder is stuck (a frozen tab, a hung request): refresh alone. The grace window
      // answers a second presentation of the same token with the same new one (docs/protocol.md).
      return this.#exchange(source, live);
    }
  }

  /** Asks the other tabs for their token; true once a fresh one arrives, false after a short wait. */
  #askPeers(): Promise<boolean> {
    const channel = this.#channel;
    if (!channel) return Promise.resolve(false);
    return new Promise((resolve) => {
      const cancel = this.#after(PEER_WAIT_MS, () => {
        this.#onFreshToken = null;
        resolve(false);
      });
      this.#onFreshToken = () => {
        if (!this.#accessToken || this.#due()) return;
        cancel();
        this.#onFreshToken = null;
        resolve(true);
      };
      channel.postMessage({ type: "hello" });
    });
  }

  /** RFC 6749 §6 refresh at the token endpoint. */
  async #exchange(source: RefreshSource, live: () => boolean): Promise<boolean | undefined> {
    if (!live()) return false;
    const held = this.#accessToken;
    let response: Response;
    let body: Answer;
    try {
      const { token_endpoint } = await this.#meta();
      const credential = await this.#credential("refresh_token");
      if (!credential) return false;
      [response, body] = await this.#post(token_endpoint, {
        grant_type: GRANT_TYPE_REFRESH_TOKEN,
        ...credential,
      });
    } catch (error) {
      return live() ? this.#fail(error) : false;
    }
    if (!live()) return false;
    // The answers that settle it: `invalid_grant`, or 204 when no refresh cookie reached the
    // server (docs/protocol.md, "Web profile: the refresh cookie"): quiet on a page load,
    // the end of a session held. They speak of the session held when this request left: one
    // begun meanwhile (sign-in, handoff, a login's answer, another tab's token) stands.
    if (response.status === 204 || body.error === "invalid_grant") {
      this.#failures = 0;
      if (this.#accessToken !== held) return this.#accessToken !== null;
      await this.#end(response.status === 204 ? "expired" : reasonOf(body.prolong_error));
      return false;
    }
    // A 200 without a usable token (a proxy's page) is no answer either.
    if (response.ok && readClaims(body.access_token ?? "")) {
      await this.#adopt(body, source);
      return true;
    }
    return this.#fail(
      failure(codeOf(response.status), `token endpoint answered ${response.status}`),
      response,
    );
  }

  /**
   * Counts a transient failure and sets when the next attempt may go: exponential backoff
   * with jitter up to `maxRetryDelay`, and never before the server's Retry-After.
   */
  #fail(error: unknown, response?: Response): undefined {
    // Thrown by the platform (fetch: offline, refused, blocked, timed out, cut off): no answer.
    const own = (error as { code?: unknown } | null)?.code;
    const code = typeof own === "string" ? (own as ClientErrorCode) : "network";
    this.#offline = code === "network";
    this.#events.emit("error", {
      error,
      code,
      fatal: false,
      ...(response ? { status: response.status } : {}),
    });
    const backoff =
      Math.min(this.#o.maxRetryDelay, 500 * 2 ** this.#failures++) * (0.5 + this.#o.random() / 2);
    this.#notBefore = this.#o.now() + Math.max(backoff, retryAfter(response, this.serverNow()));
    return undefined;
  }

  async #adopt(body: Answer, source: RefreshSource | null): Promise<void> {
    const token = body.access_token;
    const claims = token ? readClaims(token) : null;
    if (!token || !claims) throw new Error("the server's token response has no usable access token");
    if (this.#o.profile === "native" && body.refresh_token) await this.#o.storage.set(body.refresh_token);
    // A resume that first met an outage and succeeded on a later attempt is still the start of a session.
    const first = this.#accessToken === null;
    this.#use(token, claims);
    this.#channel?.postMessage({ type: "tokens", accessToken: token });
    if (source === null || source === "resume" || first)
      this.#events.emit("authorized", { accessToken: token, claims });
    if (source !== null) this.#events.emit("refreshed", { accessToken: token, claims, source });
  }

  #use(token: string, claims: AccessTokenClaims): void {
    this.#accessToken = token;
    this.#claims = claims;
    this.#offset = claims.iat * 1000 - this.#o.now();
    this.#jitterMs = this.#o.random() * this.#o.jitter * 1000;
    // A fresh token, ours or another tab's, ends any backoff.
    this.#failures = 0;
    this.#notBefore = 0;
    this.#offline = false;
    this.#schedule();
  }

  /** Arms the renewal and idle timers for the token held; a stopped client keeps the token, and `start()` arms them. */
  #schedule(): void {
    if (!this.#claims || !this.#running) return;
    this.#renewal.set(this.#renewAt(this.#claims) - this.#offset, () => void this.#renewIfActive());
    this.#armIdle();
  }

  /**
   * Server time (ms) to renew: `rfa`, or `lead` before `exp` if earlier, then up to
   * `jitter` sooner, never before half-life. The jitter applies to whichever bound
   * decides, so clients whose tokens were issued in one second (a deploy, a morning
   * rush) renew over `jitter` seconds instead of in one burst.
   */
  #renewAt(claims: AccessTokenClaims): number {
    const exp = claims.exp * 1000;
    const rfa = claims.rfa !== undefined ? claims.rfa * 1000 : Number.POSITIVE_INFINITY;
    const due = Math.min(exp - this.#o.lead * 1000, rfa) - this.#jitterMs;
    const halfLife = claims.iat * 1000 + (exp - claims.iat * 1000) / 2;
    return Math.max(due, halfLife);
  }

  async #renewIfActive(): Promise<void> {
    if (this.#isIdle()) return this.#end("idle", true);
    await this.refresh("proactive");
  }

  #isIdle(): boolean {
    return this.#o.idleTimeout !== null && this.#o.now() - this.#lastActivity >= this.#o.idleTimeout;
  }

  #armIdle(): void {
    if (this.#o.idleTimeout === null || !this.#accessToken || !this.#running) return;
    this.#idle.set(this.#lastActivity + this.#o.idleTimeout, () => {
      if (this.#isIdle()) void this.#end("idle", true);
      else this.#armIdle();
    });
  }

  /** Drops the session here: the token, its timers, and any refresh in flight, so none brings it back. */
  #forget(): string | null {
    const token = this.#accessToken;
    this.#generation++;
    this.#inflight = null;
    this.#accessToken = null;
    this.#claims = null;
    this.#offline = false;
    this.#renewal.clear();
    this.#idle.clear();
    return token;
  }

  /**
   * Ends the session here once: one `signedOut` event, other tabs told. With `revoke`
   * (sign-out, idle) the server is told through the refresh credential (RFC 7009), which,
   * unlike the access token, still works once that has expired; the server then clears the
   * web profile's cookie.
   */
  async #end(reason: SignOutReason, revoke = false): Promise<void> {
    if (!this.#forget() && reason !== "logout") return;
    const credential = revoke ? await this.#credential("token") : null;
    if (this.#o.profile === "native") await this.#o.storage.set(null);
    this.#channel?.postMessage({ type: "signedOut", reason });
    this.#events.emit("signedOut", { reason });
    if (!credential) return;
    try {
      const { revocation_endpoint } = await this.#meta();
      // An app that signs out and unmounts (stop) at once must still end the session.
      await this.#post(revocation_endpoint, { ...credential, token_type_hint: "refresh_token" }, true);
    } catch {
      // Offline or the server is gone: signed out here all the same.
    }
  }

  #onMessage(data: unknown): void {
    this.#peers = true;
    const message = data as { type?: string; accessToken?: string; reason?: SignOutReason; at?: number };
    if (message.type === "hello" && this.#accessToken && !this.#expired()) {
      this.#channel?.postMessage({ type: "tokens", accessToken: this.#accessToken });
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
    } else if (message.type === "signedOut" && this.#forget()) {
      this.#events.emit("signedOut", { reason: message.reason ?? "revoked" });
    } else if (message.type === "activity" && typeof message.at === "number") {
      this.#lastActivity = Math.max(this.#lastActivity, message.at);
      this.#armIdle();
    }
  }
}

/** Creates a session client; call `start()` to resume or `signIn()` to begin. */
export function createSessionClient(options: SessionClientOptions): SessionClient {
  return new SessionClient(options);
}

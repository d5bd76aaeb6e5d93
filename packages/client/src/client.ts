import { type AccessTokenClaims, DPOP_HEADER } from "@prolong/protocol";
import { readClaims } from "./claims.js";
import { isBound, prove, rememberNonce } from "./dpop.js";
import type { ClientEvents, RefreshSource } from "./events.js";
import { allowed, fetchWithToken } from "./fetch.js";
import { armIdle } from "./idle.js";
import { adopt, begin, end, expired, schedule, serverNow } from "./lifecycle.js";
import type { SessionClientOptions, TokenAnswer } from "./options.js";
import { refresh } from "./refresh.js";
import { arm, createState, type State, sleep, stop } from "./state.js";
import { reportStepUp } from "./step-up.js";
import { tell } from "./tabs.js";
import { type Answer, handoffGrantRequest, signInRequest } from "./token-endpoint.js";
import { call, meta, post } from "./transport.js";

/** How long a new tab waits for an open one to share its token before refreshing itself. */
const HELLO_WAIT_MS = 150;

/**
 * Keeps a prolong session alive: renews the access token before it expires (on the
 * server's clock), once for all concurrent callers and all tabs, retries through
 * network trouble, and ends the session once, with one event, when the server says so.
 * The work is done by the modules beside this one, over one State (state.ts).
 */
export class SessionClient {
  readonly #s: State;

  constructor(options: SessionClientOptions) {
    this.#s = createState(options);
  }

  /** Subscribe to `authorized`, `refreshed`, `signedOut`, `stepup` or `error`; returns the unsubscribe function. */
  on<K extends keyof ClientEvents>(type: K, listener: (event: ClientEvents[K]) => void): () => void {
    return this.#s.events.on(type, listener);
  }

  get accessToken(): string | null {
    return this.#s.token;
  }

  get claims(): AccessTokenClaims | null {
    return this.#s.claims;
  }

  /** Server time now, in ms, as far as the last token told us. */
  serverNow(): number {
    return serverNow(this.#s);
  }

  /** Signs in with a username and password at the server's login endpoint. */
  async signIn(input: { username: string; password: string; deviceName?: string }): Promise<void> {
    const s = this.#s;
    arm(s);
    const { login_endpoint } = await meta(s);
    const [response, body] = await call(s, login_endpoint, signInRequest(input, s.o.clientId));
    await begin(s, response, body);
  }

  /**
   * Redeems a one-time handoff code the host's backend got for a web session
   * (docs/protocol.md, "Handoff grant"): the server's answer sets the refresh cookie, and
   * the session starts here as after `signIn`. Rejects like `signIn` when refused (a used,
   * expired or unknown code is `invalid_grant`).
   */
  async redeemHandoff(code: string): Promise<void> {
    const s = this.#s;
    arm(s);
    const { token_endpoint } = await meta(s);
    const [response, body] = await post(s, token_endpoint, handoffGrantRequest(code));
    await begin(s, response, body);
  }

  /**
   * Resumes an existing session (the cookie, or the stored token); `false` when there is
   * none. After `stop()` it starts the client again: listeners, channel and timers.
   * Given the token answer of the host's own login or of a server-rendered page, it
   * starts that session with the answer's access token and makes no request; given
   * `null` (a page the server rendered signed out), it makes none either and answers
   * `false`, hearing other tabs from then on.
   */
  async start(answer?: TokenAnswer | null): Promise<boolean> {
    const s = this.#s;
    arm(s);
    // An answer whose token cannot be read is no reason to fail: the cookie it set resumes.
    if (answer && readClaims(answer.access_token)) {
      s.activeAt = s.o.now();
      await adopt(s, answer as unknown as Answer, null);
      return true;
    }
    if (s.token && !expired(s)) {
      schedule(s);
      return true;
    }
    if (answer === null) return false;
    if (s.o.profile === "native" && !(await s.o.storage.get())) return false;
    // A new tab first asks the open ones for their token, so opening tabs costs no refresh.
    if (s.channel) {
      const generation = s.generation;
      tell(s, { type: "hello" });
      await sleep(s, HELLO_WAIT_MS);
      if (generation !== s.generation) return false;
      if (s.token && !expired(s)) return true;
    }
    return refresh(s, "resume");
  }

  /** Records user activity where no DOM events exist (Node); keeps the idle timer at bay. */
  touch(): void {
    this.#s.activeAt = this.#s.o.now();
    armIdle(this.#s);
  }

  /** The current access token, renewed first if it is due or gone; `null` when signed out. */
  async getAccessToken(): Promise<string | null> {
    const s = this.#s;
    if (s.token && !expired(s)) return s.token;
    return (await refresh(s, "reactive")) ? s.token : null;
  }

  /**
   * Whether `fetch` and the axios adapter send the access token to `url`: only to the
   * issuer's origin and `allowedOrigins`. Relative URLs resolve against the page.
   */
  allowsTokenFor(url: string): boolean {
    return allowed(this.#s.origins, url);
  }

  /**
   * Sets the headers that send `token` with a request to `url`, an absolute URL (for
   * `fetch`, the axios adapter and a host's own): `Authorization: Bearer`, or, for a
   * DPoP-bound token, `Authorization: DPoP` and a fresh proof for `method` (as sent, in
   * capitals) and `url` (RFC 9449 §7.1).
   */
  async authorize(
    headers: { set(name: string, value: string): unknown },
    method: string,
    url: string,
    token: string,
  ): Promise<void> {
    const s = this.#s;
    const bound = s.o.dpop && isBound(readClaims(token));
    headers.set("Authorization", `${bound ? "DPoP" : "Bearer"} ${token}`);
    if (bound) headers.set(DPOP_HEADER, await prove(s, method, url, token));
  }

  /**
   * Keeps the `DPoP-Nonce` an API answered `url` (absolute) with, for the next proofs to its origin
   * (RFC 9449 §9); true when there was one. `fetch` and the axios adapter call it.
   */
  rememberNonce(url: string, nonce: string | null | undefined): boolean {
    return rememberNonce(this.#s, url, nonce);
  }

  /**
   * Tells the client how an API answered a request made with its token: a `401` with an
   * RFC 9470 `insufficient_user_authentication` challenge fires `stepup`; nothing else
   * happens, no refresh and no sign-out. `fetch` and the axios adapter call it; a host
   * sending the token with another HTTP library may too.
   */
  reportAnswer(status: number | undefined, challenge: string): void {
    reportStepUp(this.#s, status, challenge);
  }

  /**
   * `fetch` with the access token attached, for allowed origins only; other URLs are
   * fetched untouched. A `401 invalid_token` triggers one refresh and one retry; a body
   * that cannot be read twice (a stream) is not retried. A `401
   * insufficient_user_authentication` is returned as it came, after a `stepup` event.
   */
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    return fetchWithToken(this, this.#s.o.fetch, input, init);
  }

  /** Renews now. Concurrent calls share one request, and with Web Locks so do tabs. */
  refresh(source: RefreshSource = "manual"): Promise<boolean> {
    return refresh(this.#s, source);
  }

  /**
   * Ends the session here and at the server. Resolves once the server was told (or could
   * not be reached: the local sign-out happens regardless).
   */
  signOut(): Promise<void> {
    return end(this.#s, "logout", true);
  }

  /**
   * Cancels every timer, listener, lock wait and request, and closes the channel; the
   * client does nothing more until `start` or `signIn`. Calling it again does nothing.
   */
  stop(): void {
    stop(this.#s);
  }
}

/** Creates a session client; call `start()` to resume or `signIn()` to begin. */
export function createSessionClient(options: SessionClientOptions): SessionClient {
  return new SessionClient(options);
}

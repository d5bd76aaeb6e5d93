import { type AccessTokenClaims, readClaims, type SessionClient, type TokenAnswer } from "@prolong/client";

/** Where the session stands: `loading` until the client has looked for one to resume. */
export type SessionStatus = "loading" | "signedIn" | "signedOut";

/** What a render sees; the same object until the status or the claims change. */
export interface SessionSnapshot {
  readonly status: SessionStatus;
  /** The access token's claims (read, not verified: the API verifies), `null` when signed out. */
  readonly claims: AccessTokenClaims | null;
}

/** Before the client has been asked, and on a server that was given no session (`initial`). */
export const LOADING: SessionSnapshot = Object.freeze({ status: "loading", claims: null });

/**
 * What a server-rendered page knew before any code ran in the browser: signed in with the
 * claims of `initial`'s token (read, not verified: the server verified it), signed out for
 * `null`, and `loading` when the server said nothing (`undefined`) or its token cannot be read.
 */
export function renderedSnapshot(initial: TokenAnswer | null | undefined): SessionSnapshot {
  if (initial === null) return { status: "signedOut", claims: null };
  const claims = initial ? readClaims(initial.access_token) : null;
  return claims ? { status: "signedIn", claims } : LOADING;
}

/** The client events after which the snapshot may differ. */
const CHANGES = ["authorized", "refreshed", "signedOut"] as const;

/**
 * One client seen as a `useSyncExternalStore` source. The snapshot is read from the
 * client itself (its claims), so nothing can drift from it; the only state kept here is
 * whether the client has finished looking for a session to resume, which it has no
 * event for.
 */
export class SessionState {
  readonly client: SessionClient;
  readonly #initial: TokenAnswer | null | undefined;
  /** What the server rendered: the snapshot until the client has started. */
  readonly #rendered: SessionSnapshot;
  #looked = false;
  #snapshot: SessionSnapshot;
  readonly #listeners = new Set<() => void>();

  /** `initial`: the session a server-rendered page was rendered with (`null`: signed out). */
  constructor(client: SessionClient, initial?: TokenAnswer | null) {
    this.client = client;
    this.#initial = initial;
    this.#rendered = renderedSnapshot(initial);
    this.#snapshot = this.#rendered;
  }

  /** For `useSyncExternalStore`: a stable function, so React subscribes once per component. */
  readonly subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  /** For `useSyncExternalStore`: the same object for as long as nothing changed. */
  readonly getSnapshot = (): SessionSnapshot => {
    // Until the client has started, what the server rendered stands, so hydration finds
    // the markup it rendered and nothing flickers through `loading`.
    const claims = this.client.claims ?? (this.#looked ? null : this.#rendered.claims);
    const status: SessionStatus = claims
      ? "signedIn"
      : this.#looked || this.#rendered !== LOADING
        ? "signedOut"
        : "loading";
    if (status !== this.#snapshot.status || claims !== this.#snapshot.claims) {
      this.#snapshot = { status, claims };
    }
    return this.#snapshot;
  };

  /** For `useSyncExternalStore` on the server and at hydration: what the server rendered. */
  readonly getServerSnapshot = (): SessionSnapshot => this.#rendered;

  /**
   * Starts the client and follows its events; returns what stops both. Shaped for a React
   * effect and its cleanup: under Strict Mode the first run is cleaned up before its
   * `start()` settles, and that late answer must not decide the status, since the second
   * run's `start()` is the one that counts.
   */
  start(): () => void {
    let running = true;
    const changed = () => {
      if (!running) return;
      this.#looked = true;
      for (const listener of [...this.#listeners]) listener();
    };
    const unsubscribe = CHANGES.map((type) => this.client.on(type, changed));
    // A transient failure is retried by the client (its `error` event) and an `authorized`
    // follows when it succeeds; a start that throws found no session it could use. Given
    // what the server rendered, the client starts from it and makes no request.
    this.client.start(this.#initial).then(changed, changed);
    return () => {
      running = false;
      for (const off of unsubscribe) off();
      this.client.stop();
    };
  }
}

import type { AccessTokenClaims, SessionClient } from "@prolong/client";

/** Where the session stands: `loading` until the client has looked for one to resume. */
export type SessionStatus = "loading" | "signedIn" | "signedOut";

/** What a render sees; the same object until the status or the claims change. */
export interface SessionSnapshot {
  readonly status: SessionStatus;
  /** The access token's claims (read, not verified: the API verifies), `null` when signed out. */
  readonly claims: AccessTokenClaims | null;
}

/** Before the client has been asked, and on the server (SSR), where no session is known. */
export const LOADING: SessionSnapshot = Object.freeze({ status: "loading", claims: null });

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
  #looked = false;
  #snapshot: SessionSnapshot = LOADING;
  readonly #listeners = new Set<() => void>();

  constructor(client: SessionClient) {
    this.client = client;
  }

  /** For `useSyncExternalStore`: a stable function, so React subscribes once per component. */
  readonly subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  /** For `useSyncExternalStore`: the same object for as long as nothing changed. */
  readonly getSnapshot = (): SessionSnapshot => {
    const claims = this.client.claims;
    const status: SessionStatus = claims ? "signedIn" : this.#looked ? "signedOut" : "loading";
    if (status !== this.#snapshot.status || claims !== this.#snapshot.claims) {
      this.#snapshot = { status, claims };
    }
    return this.#snapshot;
  };

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
    // follows when it succeeds; a start that throws found no session it could use.
    this.client.start().then(changed, changed);
    return () => {
      running = false;
      for (const off of unsubscribe) off();
      this.client.stop();
    };
  }
}

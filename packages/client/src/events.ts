import type { AccessTokenClaims } from "@prolong/protocol";

/** Why a session ended on this client. */
export type SignOutReason = "revoked" | "expired" | "reused" | "idle" | "logout";

/** How a new access token came about. */
export type RefreshSource = "proactive" | "reactive" | "soft-expiry" | "resume" | "other-tab" | "manual";

export interface ClientEvents {
  /** A session started here (sign-in) or was resumed. */
  authorized: { accessToken: string; claims: AccessTokenClaims };
  refreshed: { accessToken: string; claims: AccessTokenClaims; source: RefreshSource };
  /** Fired once per session end. */
  signedOut: { reason: SignOutReason };
  /** Something failed that will be retried (network, 5xx, 429); the session goes on. */
  error: { error: unknown };
}

type Listener<T> = (event: T) => void;

/** A tiny typed emitter: web EventTarget would need CustomEvent, absent in older Node. */
export class Emitter {
  readonly #listeners = new Map<keyof ClientEvents, Set<Listener<never>>>();

  on<K extends keyof ClientEvents>(type: K, listener: Listener<ClientEvents[K]>): () => void {
    const set = this.#listeners.get(type) ?? new Set();
    this.#listeners.set(type, set);
    set.add(listener as Listener<never>);
    return () => set.delete(listener as Listener<never>);
  }

  emit<K extends keyof ClientEvents>(type: K, event: ClientEvents[K]): void {
    for (const listener of this.#listeners.get(type) ?? []) {
      try {
        (listener as Listener<ClientEvents[K]>)(event);
      } catch {
        // One faulty listener must not stop the others or the client.
      }
    }
  }
}

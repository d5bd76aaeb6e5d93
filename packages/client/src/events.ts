import type { AccessTokenClaims, SignOutReason } from "@prolong/protocol";
import type { StepUpChallenge } from "./step-up.js";

/** Why a session ended on this client: `@prolong/protocol`'s, as tabs tell each other. */
export type { SignOutReason };

/** How a new access token came about. */
export type RefreshSource = "proactive" | "reactive" | "soft-expiry" | "resume" | "other-tab" | "manual";

export interface ClientEvents {
  /** A session started here (sign-in) or was resumed. */
  authorized: { accessToken: string; claims: AccessTokenClaims };
  refreshed: { accessToken: string; claims: AccessTokenClaims; source: RefreshSource };
  /** Fired once per session end. */
  signedOut: { reason: SignOutReason };
  /** A request to the server failed; retried with backoff unless `fatal`. The session goes on. */
  error: ClientError;
  /**
   * An API refused a request because the user's authentication is too old or not of a
   * context it accepts (RFC 9470): have the user authenticate again, with what it asks
   * for, then retry. The session goes on; the client neither refreshes nor signs out.
   */
  stepup: StepUpChallenge;
}

/**
 * What went wrong, for programs (the `error` event's `code`):
 * - `network`: no answer: offline, refused, blocked, timed out (`requestTimeout`), or cut
 *   off before its body arrived whole;
 * - `server_error`: a 5xx; `rate_limited`: a 429, retried no sooner than its Retry-After;
 * - `unexpected_answer`: any other answer that does not settle the session: a proxy's
 *   HTML 404, a 403, a 400 other than `invalid_grant`, a 200 without a token;
 * - with `dpop`: `invalid_dpop_proof`, the server refused the proof (RFC 9449 §5: most
 *   often this device's clock, off by more than the proof's lifetime);
 *   `dpop_key_unavailable`, the key could not be loaded, made or saved (no Web Crypto
 *   outside a secure context, IndexedDB refused, the host's `keyStore` failed);
 * - fatal, the client stops: `issuer_mismatch`, the server's metadata names another issuer
 *   than `issuer` (RFC 8414 §3.3; a page on `127.0.0.1` whose server calls itself
 *   `localhost`); `issuer_unreachable`, the issuer answers but not to this page's origin
 *   (CORS: the origin is not in the server's `allowedOrigins`).
 */
export type ClientErrorCode =
  | "network"
  | "server_error"
  | "rate_limited"
  | "unexpected_answer"
  | "invalid_dpop_proof"
  | "dpop_key_unavailable"
  | "issuer_mismatch"
  | "issuer_unreachable";

/** The `error` event's payload. */
export interface ClientError {
  /** What was thrown: the platform's (a `TypeError` from `fetch`), or an `Error` of ours carrying `code`. */
  error: unknown;
  code: ClientErrorCode;
  /** `true`: the client has stopped and will not retry until started again. */
  fatal: boolean;
  /** The answer's HTTP status, when there was an answer. */
  status?: number;
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

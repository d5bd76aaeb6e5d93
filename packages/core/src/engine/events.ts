import type { RevokeReason } from "../store/index.js";

/**
 * Everything the engine reports, one typed union. Its host subscribes (metrics), and so
 * does the engine itself: the security-event log (audit.ts) is one more subscriber.
 * `at` is the engine clock's time of the event, in milliseconds.
 */
export type EngineEvent =
  | {
      type: "signed_in";
      subjectId: string;
      sessionId: string;
      clientId: string;
      ip: string | null;
      /** The administrator acting as the subject (impersonation, RFC 8693 §4.1); `null` for the subject's own sign-in. */
      actor: string | null;
      at: number;
    }
  /**
   * A new sign-in of the subject pushed this session out of its profile's device limit
   * (docs/session-policies.md); the store put the revocation on the feed's changelog.
   */
  | {
      type: "session_evicted";
      subjectId: string;
      sessionId: string;
      /** The session whose start evicted it. */
      by: string;
      at: number;
      relevantUntil: number;
    }
  /** The host vouched for a stronger authentication of the session's subject (RFC 9470). */
  | {
      type: "stepped_up";
      subjectId: string;
      sessionId: string;
      acr: string | null;
      amr: string[] | null;
      at: number;
    }
  /** `subjectId` is `null` when the username matched no account. */
  | { type: "sign_in_failed"; subjectId: string | null; ip: string | null; at: number }
  | {
      type: "refreshed";
      subjectId: string;
      sessionId: string;
      /** The previous token inside the grace window got the current one again (P5). */
      replayed: boolean;
      /**
       * The token before the previous one, inside the grace window, got an access token
       * and no refresh token (docs/protocol.md, "Rotation: replays and stragglers").
       */
      straggler: boolean;
      at: number;
    }
  | { type: "exchanged"; subjectId: string; sessionId: string; at: number }
  /** A rotated refresh token came back outside the grace window (P4); `generation` is the token's. */
  | { type: "reuse_detected"; subjectId: string; sessionId: string; generation: number; at: number }
  | {
      type: "session_revoked";
      subjectId: string;
      sessionId: string;
      reason: RevokeReason;
      /** The administrator impersonating the subject in that session, if one was. */
      actor?: string | null;
      at: number;
      /** Until when (ms) an access token of this session could still be unexpired. */
      relevantUntil: number;
    }
  /** "Log out everywhere" bumped the subject's token version to `version` (P8). */
  | { type: "logout_everywhere"; subjectId: string; version: number; at: number; relevantUntil: number }
  | { type: "user_disabled"; subjectId: string; at: number }
  | { type: "reauth_required"; subjectId: string; at: number }
  | {
      type: "password_changed";
      subjectId: string;
      /** The session the change was made from; `null` when an administrator set it. */
      sessionId: string | null;
      by: "user" | "admin";
      at: number;
    }
  | {
      type: "password_change_failed";
      subjectId: string;
      sessionId: string;
      ip: string | null;
      at: number;
    };

/** A subscriber. One that returns a promise is awaited before the operation answers. */
export type EngineListener = (event: EngineEvent) => void | Promise<void>;

/** Told when a listener throws or rejects. */
export type ListenerFailureHandler = (error: unknown, event: EngineEvent) => void;

const settled: Promise<void> = Promise.resolve();

/**
 * The engine's subscribers, and how their failures are handled.
 *
 * An event describes a change that has already been committed (a session created,
 * rotated, revoked). So no listener can change the answer of the operation that
 * emitted it: a broken metrics counter must not turn a good refresh into an error, and
 * failing a revocation because its audit record could not be written would only make
 * the client retry something that already happened, while the record would still be
 * missing. Instead a failure is never silent: every failure goes to the failure
 * handlers (the server logs it at error level and counts it), or to stderr when there
 * are none. Listeners that return promises (the audit log's write) are awaited, so an
 * operation answers after its events are recorded, as a reader of the log expects.
 */
export class EngineEvents {
  readonly #listeners = new Set<EngineListener>();
  readonly #failureHandlers = new Set<ListenerFailureHandler>();

  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: EngineListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Adds a failure handler; returns the function that removes it. */
  onListenerFailure(handler: ListenerFailureHandler): () => void {
    this.#failureHandlers.add(handler);
    return () => this.#failureHandlers.delete(handler);
  }

  /** Tells every listener; resolves once the asynchronous ones have finished. Never rejects. */
  emit(event: EngineEvent): Promise<void> {
    let pending: Promise<void>[] | null = null;
    for (const listener of this.#listeners) {
      try {
        const result = listener(event);
        if (result instanceof Promise) {
          pending ??= [];
          pending.push(result.catch((error: unknown) => this.#failed(error, event)));
        }
      } catch (error) {
        this.#failed(error, event);
      }
    }
    return pending === null ? settled : Promise.all(pending).then(() => undefined);
  }

  #failed(error: unknown, event: EngineEvent): void {
    if (this.#failureHandlers.size === 0) {
      console.error(`prolong: an engine event listener failed on "${event.type}":`, error);
      return;
    }
    for (const handler of this.#failureHandlers) {
      try {
        handler(error, event);
      } catch (failure) {
        console.error(`prolong: a listener-failure handler failed on "${event.type}":`, failure);
      }
    }
  }
}

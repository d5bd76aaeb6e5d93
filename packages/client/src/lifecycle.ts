/**
 * A session's life on this client: begun (sign-in, handoff, a login's answer), its token
 * held and renewed on time, taken from another tab, and ended once, with one event.
 */
import type { AccessTokenClaims, SignOutReason } from "@prolong/protocol";
import { readClaims } from "./claims.js";
import type { RefreshSource } from "./events.js";
import { armIdle, isIdle } from "./idle.js";
import { refresh } from "./refresh.js";
import { renewAt } from "./session.js";
import type { State } from "./state.js";
import { tell } from "./tabs.js";
import { type Answer, refusal } from "./token-endpoint.js";
import { credential, revoke } from "./transport.js";

/** Server time now, in ms, as far as the last token told us. */
export const serverNow = (s: State): number => s.o.now() + s.offset;

export const expired = (s: State): boolean => !s.claims || serverNow(s) >= s.claims.exp * 1000;

/** Whether the token has reached its renewal point (or there is none). */
export const due = (s: State): boolean =>
  !s.claims || serverNow(s) >= renewAt(s.claims, s.o.lead * 1000, s.jitter);

/** A session begun by sign-in or handoff, or the server's refusal thrown with its status, body and code. */
export async function begin(s: State, response: Response, body: Answer): Promise<void> {
  if (!response.ok) throw refusal(response, body);
  s.activeAt = s.o.now();
  await adopt(s, body, null);
}

/** A token answer's tokens, held and shared; `source` is `null` for a session begun here. */
export async function adopt(s: State, body: Answer, source: RefreshSource | null): Promise<void> {
  const token = body.access_token;
  const claims = token ? readClaims(token) : null;
  if (!token || !claims) throw new Error("the token answer has no usable access token");
  // No refresh token in the answer means "keep the one you hold": the server answers so a
  // request that lost a race inside the grace window (docs/protocol.md).
  if (s.o.profile === "native" && body.refresh_token) await s.o.storage.set(body.refresh_token);
  // RFC 6749 §5.1: `expires_in` counts from when the server answered. A fresh token's is
  // `exp - iat`; a server-rendered page hands over a token issued earlier, with what it
  // has left, so the server's time is `exp - expires_in`, not `iat`.
  const left = body.expires_in;
  use(s, token, claims, source, true, typeof left === "number" ? claims.exp - left : claims.iat);
}

/**
 * Another tab's token, taken when it is new here, readable and not older than the one
 * held (a page rendered on the server shares the token it was rendered with, which
 * another tab may have renewed since); `true` if taken.
 */
export function took(s: State, token: string): boolean {
  const claims = token !== s.token && readClaims(token);
  const taken = !!claims && claims.iat >= (s.claims?.iat ?? 0);
  if (taken) use(s, token, claims, "other-tab", false);
  return taken;
}

/**
 * Holds a new token and says so: `authorized` when a session starts here (a resume that
 * first met an outage and succeeded on a later attempt is still one), `refreshed` for a
 * renewal; with `share`, the other tabs get it too. `at` is the server's time (s) the
 * answer was made at; another tab's token says only that the server's time is past its
 * `iat`, for it may have been issued long ago.
 */
function use(
  s: State,
  token: string,
  claims: AccessTokenClaims,
  source: RefreshSource | null,
  share: boolean,
  at?: number,
) {
  const first = s.token === null;
  const now = s.o.now();
  s.token = token;
  s.claims = claims;
  s.offset = at === undefined ? Math.max(s.offset, claims.iat * 1000 - now) : at * 1000 - now;
  s.jitter = s.o.random() * s.o.jitter * 1000;
  // A fresh token, ours or another tab's, ends any backoff.
  s.failures = 0;
  s.notBefore = 0;
  s.offline = false;
  schedule(s);
  if (share) tell(s, { type: "tokens", accessToken: token });
  if (source === null || source === "resume" || first)
    s.events.emit("authorized", { accessToken: token, claims });
  if (source) s.events.emit("refreshed", { accessToken: token, claims, source });
}

/** Arms the renewal and idle timers for the token held; a stopped client keeps the token, and `start()` arms them. */
export function schedule(s: State): void {
  if (!s.claims || !s.running) return;
  s.renewal.set(renewAt(s.claims, s.o.lead * 1000, s.jitter) - s.offset, () => {
    void (isIdle(s) ? end(s, "idle", true) : refresh(s, "proactive"));
  });
  armIdle(s);
}

/** Drops the session here: the token, its timers, and any refresh in flight, so none brings it back. */
export function forget(s: State): string | null {
  const token = s.token;
  s.generation++;
  s.inflight = null;
  s.token = null;
  s.claims = null;
  s.offline = false;
  s.renewal.clear();
  s.idleAt.clear();
  return token;
}

/**
 * Ends the session here once: one `signedOut` event, other tabs told. With `revoke`
 * (sign-out, idle) the server is told through the refresh credential (RFC 7009), which,
 * unlike the access token, still works once that has expired; the server then clears the
 * web profile's cookie.
 */
export async function end(s: State, reason: SignOutReason, withRevoke = false): Promise<void> {
  if (!forget(s) && reason !== "logout") return;
  const held = withRevoke ? await credential(s, "token") : null;
  if (s.o.profile === "native") await s.o.storage.set(null);
  tell(s, { type: "signedOut", reason });
  s.events.emit("signedOut", { reason });
  if (held) await revoke(s, held);
}

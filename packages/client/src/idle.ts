/**
 * Idle tracking: the session ends after `idleTimeout` ms without user activity in any
 * tab. Activity here is told to the other tabs now and then, and theirs heard.
 */
import { end } from "./lifecycle.js";
import type { State } from "./state.js";
import { tell } from "./tabs.js";

/** How often activity is told to the other tabs, at most, ms. */
const SHARE_EVERY_MS = 5000;

/** DOM activity here: recorded, and told to the other tabs now and then, so activity anywhere keeps every tab alive. */
export function activity(s: State): void {
  const now = s.o.now();
  s.activeAt = now;
  if (now - s.sharedAt > SHARE_EVERY_MS) {
    s.sharedAt = now;
    tell(s, { type: "activity", at: now });
  }
}

/** Activity another tab heard at `at` (ms). */
export function heard(s: State, at: number): void {
  s.activeAt = Math.max(s.activeAt, at);
  armIdle(s);
}

/** Whether `idleTimeout` (`null`: never) has passed since the last activity. */
export const isIdle = (s: State): boolean =>
  s.o.idleTimeout !== null && s.o.now() - s.activeAt >= s.o.idleTimeout;

/** Sets the idle deadline from the last activity, while a session is held and the client runs. */
export function armIdle(s: State): void {
  if (s.o.idleTimeout === null || !s.token || !s.running) return;
  s.idleAt.set(s.activeAt + s.o.idleTimeout, () => {
    if (isIdle(s)) void end(s, "idle", true);
    else armIdle(s);
  });
}

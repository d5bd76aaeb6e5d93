/**
 * The refresh loop: one refresh at a time for all callers, elected among tabs, retried
 * with backoff until the server answers for good. What to do at each step is session.ts's
 * decision; the request and its answer are token-endpoint.ts's.
 */
import type { ClientErrorCode, RefreshSource } from "./events.js";
import { adopt, due, end, expired, serverNow } from "./lifecycle.js";
import { backoffUntil, nextStep, settle } from "./session.js";
import { after, type State } from "./state.js";
import { askPeers, underLock } from "./tabs.js";
import { processTokenAnswer, refreshGrantRequest, type TokenOutcome } from "./token-endpoint.js";
import { credential, meta, post } from "./transport.js";

/** Renews now. Concurrent calls share one request, and with Web Locks so do tabs. */
export function refresh(s: State, source: RefreshSource): Promise<boolean> {
  if (!s.inflight) {
    const run: Promise<boolean> = loop(s, source).finally(() => {
      if (s.inflight === run) s.inflight = null;
    });
    s.inflight = run;
  }
  return s.inflight;
}

/** The network is back: a backoff that waited for it ends, and a renewal starts or goes on. */
export function online(s: State): void {
  // A backoff that waited for the network is over (a server's Retry-After is not).
  if (!s.offline) return;
  s.offline = false;
  s.notBefore = 0;
  s.cut?.();
  // Joins a loop that is sleeping, or retries one that gave up until the backoff's end.
  void refresh(s, "proactive");
}

/**
 * Attempts until the server answers for good. Between failures it backs off; while the
 * token is still valid callers wait here, once it has expired there is nothing to give
 * them, so they get `false` and the next attempt is scheduled at the end of the backoff.
 */
async function loop(s: State, source: RefreshSource): Promise<boolean> {
  const generation = s.generation;
  const live = () => s.running && generation === s.generation;
  while (live()) {
    const now = s.o.now();
    const notBefore = s.notBefore;
    const step = nextStep(notBefore, now, expired(s));
    if (step === "defer") {
      s.renewal.set(notBefore, () => void refresh(s, "proactive"));
      return false;
    }
    if (step === "wait") {
      await new Promise<void>((resolve) => {
        const cancel = after(s, notBefore - now, resolve);
        s.cut = () => {
          cancel();
          resolve();
        };
      });
      s.cut = null;
      continue;
    }
    const settled = await attempt(s, source, live);
    if (settled !== undefined) return settled;
  }
  return false;
}

/** One attempt, elected among tabs by the Web Lock: `true`/`false` once settled, `undefined` to retry. */
function attempt(s: State, source: RefreshSource, live: () => boolean): Promise<boolean | undefined> {
  const grant = () => refreshGrant(s, source, live);
  const before = s.token;
  return underLock(
    s,
    async () =>
      // While we waited for the lock another tab may have renewed and told us, or renewed
      // and not told us yet: the lock can pass before its message arrives.
      (s.token !== before && !due(s)) || (await askPeers(s)) || grant(),
    grant,
  );
}

/** RFC 6749 §6: the refresh grant at the token endpoint, and what its answer does. */
async function refreshGrant(
  s: State,
  source: RefreshSource,
  live: () => boolean,
): Promise<boolean | undefined> {
  if (!live()) return false;
  const held = s.token;
  let outcome: TokenOutcome;
  try {
    const { token_endpoint } = await meta(s);
    const fields = await credential(s, "refresh_token");
    if (!fields) return false;
    const [response, body] = await post(s, token_endpoint, refreshGrantRequest(fields));
    outcome = processTokenAnswer(response, body, serverNow(s));
  } catch (error) {
    return live() ? fail(s, error) : false;
  }
  if (!live()) return false;
  const verdict = settle(outcome, held, s.token);
  if (verdict.kind === "tokens") {
    await adopt(s, verdict.body, source);
    return true;
  }
  if (verdict.kind === "retry") return fail(s, verdict.error, verdict.status, verdict.wait);
  s.failures = 0;
  if (verdict.kind === "stand") return s.token !== null;
  await end(s, verdict.reason);
  return false;
}

/** Reports a transient failure and backs off; thrown by the platform (offline, refused, timed out), it had no answer. */
function fail(s: State, error: unknown, status?: number, retryAfter = 0): undefined {
  const own = (error as { code?: unknown } | null)?.code;
  const code = typeof own === "string" ? (own as ClientErrorCode) : "network";
  s.offline = code === "network";
  s.events.emit("error", { error, code, fatal: false, ...(status !== undefined ? { status } : {}) });
  s.notBefore = backoffUntil(s.failures++, retryAfter, s.o.now(), s.o.random(), s.o.maxRetryDelay);
  return undefined;
}

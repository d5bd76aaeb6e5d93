/**
 * Coordination between the tabs of one browser: the BroadcastChannel that shares tokens,
 * sign-outs and activity (the messages are `@prolong/protocol`'s TabMessage, decoded on
 * arrival), and the Web Lock that elects the one tab that refreshes.
 */
import { decodeTabMessage, type TabMessage } from "@prolong/protocol";
import { heard } from "./idle.js";
import { due, expired, forget, took } from "./lifecycle.js";
import { after, type State } from "./state.js";

/** How long a tab holding the refresh lock waits for a peer's fresher token before refreshing. */
const PEER_WAIT_MS = 250;

/** Opens the channel of this issuer's tabs, when there is one. */
export function joinTabs(s: State): void {
  s.channel = s.o.channel?.(`prolong:${s.o.issuer}`) ?? null;
  s.channel?.addEventListener("message", (event) => onMessage(s, event.data));
}

/** Tells the other tabs. */
export const tell = (s: State, message: TabMessage): void => s.channel?.postMessage(message);

function onMessage(s: State, data: unknown): void {
  s.peers = true;
  const message = decodeTabMessage(data);
  if (message?.type === "hello") {
    if (s.token && !expired(s)) tell(s, { type: "tokens", accessToken: s.token });
  } else if (message?.type === "tokens") {
    if (took(s, message.accessToken)) s.onToken?.();
  } else if (message?.type === "signedOut") {
    if (forget(s)) s.events.emit("signedOut", { reason: message.reason });
  } else if (message?.type === "activity") heard(s, message.at);
}

/** Asks the other tabs for their token; true once a fresh one arrives, false after a short wait. */
export function askPeers(s: State): Promise<boolean> {
  if (!s.channel || !s.peers) return Promise.resolve(false);
  return new Promise((resolve) => {
    const cancel = after(s, PEER_WAIT_MS, () => {
      s.onToken = null;
      resolve(false);
    });
    s.onToken = () => {
      if (due(s)) return;
      cancel();
      s.onToken = null;
      resolve(true);
    };
    tell(s, { type: "hello" });
  });
}

/**
 * Runs `inside` holding the tab-wide refresh lock, or `alone` without Web Locks or when
 * the holder keeps it past `lockTimeout` (a frozen tab, a hung request): the grace window
 * answers a second presentation of the same token with the same new one
 * (docs/protocol.md), so refreshing alone is safe, only wasteful.
 */
export async function underLock<T>(s: State, inside: () => Promise<T>, alone: () => Promise<T>): Promise<T> {
  const locks = s.o.locks;
  if (!locks) return alone();
  const controller = new AbortController();
  const granted = after(s, s.o.lockTimeout, () => controller.abort());
  try {
    return await locks.request(`prolong-refresh:${s.o.issuer}`, { signal: controller.signal }, () => {
      granted();
      return inside();
    });
  } catch (error) {
    if (!controller.signal.aborted) throw error;
    return alone();
  }
}

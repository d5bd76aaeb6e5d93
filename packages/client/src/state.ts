/**
 * What a session client holds while it runs, in one record that the modules beside it
 * (transport, refresh, tabs, idle, lifecycle) read and change. Its decisions are
 * session.ts's; this file only says what the state is and how a client starts and stops.
 */
import type { AccessTokenClaims } from "@prolong/protocol";
import type { DpopKey } from "./dpop-key.js";
import { Emitter } from "./events.js";
import { activity } from "./idle.js";
import type { ChannelLike, SessionClientOptions, Settings } from "./options.js";
import { originsOf, settingsOf } from "./options.js";
import { online } from "./refresh.js";
import { type Deadline, deadline } from "./schedule.js";
import { joinTabs } from "./tabs.js";
import type { Metadata } from "./transport.js";

export interface State {
  o: Settings;
  events: Emitter;
  /** Where the access token may go: the issuer's origin and `allowedOrigins`. */
  origins: Set<string>;
  renewal: Deadline;
  idleAt: Deadline;
  /** Timers that `stop()` fires early: sleeps wake up, requests and lock waits abort. */
  pending: Set<() => void>;
  /** DOM listeners, added on start and removed on stop. */
  listeners: [string, () => void][];
  metadata?: Promise<Metadata> | null;
  token: string | null;
  claims: AccessTokenClaims | null;
  /** Server clock minus ours, in ms, learnt from each token's `iat`. */
  offset: number;
  /** How much sooner than its renewal point this client renews the token held, ms. */
  jitter: number;
  /** The refresh in flight, shared by every caller. */
  inflight?: Promise<boolean> | null;
  /** Bumped by sign-out and stop: work begun before must not bring a session back. */
  generation: number;
  /** Refresh failures in a row (anything but an answer that settles the session), across calls; the backoff grows with it. */
  failures: number;
  /** No refresh request before this time (ms, our clock): backoff or Retry-After. */
  notBefore: number;
  /** The last attempt got no answer: the backoff waits for the network, and `online` ends it. */
  offline: boolean;
  /** Ends the backoff the refresh loop is sleeping through. */
  cut?: (() => void) | null;
  channel?: ChannelLike | null;
  /** Another tab has spoken on the channel, so there is someone to ask. */
  peers: boolean;
  /** Called when another tab's token is taken, while this tab waits for one. */
  onToken?: (() => void) | null;
  activeAt: number;
  sharedAt: number;
  running: boolean;
  /** The DPoP key, once asked for (dpop.ts). */
  key?: Promise<DpopKey> | null;
  /** The last `DPoP-Nonce` each origin answered with (RFC 9449 §8, §9). */
  nonces: Map<string, string>;
}

export function createState(options: SessionClientOptions): State {
  const o = settingsOf(options);
  const s: State = {
    o,
    events: new Emitter(),
    origins: originsOf(o),
    renewal: deadline(o.timers, o.now),
    idleAt: deadline(o.timers, o.now),
    pending: new Set(),
    listeners: [],
    token: null,
    claims: null,
    offset: 0,
    jitter: 0,
    generation: 0,
    failures: 0,
    notBefore: 0,
    offline: false,
    peers: false,
    activeAt: o.now(),
    sharedAt: 0,
    running: false,
    nonces: new Map(),
  };
  const wake = () => {
    s.renewal.check();
    s.idleAt.check();
  };
  s.listeners = [
    ...["visibilitychange", "focus", "pageshow"].map((type): [string, () => void] => [type, wake]),
    [
      "online",
      () => {
        online(s);
        wake();
      },
    ],
    ...o.activityEvents.map((type): [string, () => void] => [type, () => activity(s)]),
  ];
  arm(s);
  return s;
}

/** Listeners and the channel, once per start: a client started twice holds one of each. */
export function arm(s: State): void {
  if (s.running) return;
  s.running = true;
  joinTabs(s);
  for (const [type, listener] of s.listeners) s.o.target?.addEventListener(type, listener, { passive: true });
}

/** Cancels every timer, listener, lock wait and request, and closes the channel. */
export function stop(s: State): void {
  if (!s.running) return;
  s.running = false;
  s.generation++;
  s.inflight = null;
  s.renewal.clear();
  s.idleAt.clear();
  for (const fire of [...s.pending]) fire();
  for (const [type, listener] of s.listeners) s.o.target?.removeEventListener(type, listener);
  s.channel?.close();
  s.channel = null;
}

/** Calls `fire` after `ms`, or at once on `stop()` unless `outlivesStop`; returns the cancel function. */
export function after(s: State, ms: number, fire: () => void, outlivesStop = false): () => void {
  const run = () => {
    cancel();
    fire();
  };
  const handle = s.o.timers.setTimeout(run, ms);
  const cancel = () => {
    s.o.timers.clearTimeout(handle);
    s.pending.delete(run);
  };
  if (!outlivesStop) s.pending.add(run);
  return cancel;
}

export const sleep = (s: State, ms: number): Promise<void> => new Promise((resolve) => after(s, ms, resolve));

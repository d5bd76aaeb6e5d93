import {
  createSessionClient,
  MAX_WAIT_MS,
  type SessionClientOptions,
  type SignOutReason,
} from "@prolong/client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FakeServer, grantError, invalidToken } from "./fake-server.js";

let server: FakeServer;

beforeEach(() => {
  vi.useFakeTimers({ now: Date.UTC(2026, 0, 1) });
  server = new FakeServer();
});
afterEach(() => {
  vi.useRealTimers();
});

function client(options: Partial<SessionClientOptions> = {}) {
  const c = createSessionClient({
    issuer: server.issuer,
    profile: "native",
    fetch: server.fetch,
    random: () => 0,
    locks: null,
    channel: null,
    target: null,
    ...options,
  });
  const signedOut: SignOutReason[] = [];
  const refreshed: string[] = [];
  c.on("signedOut", (e) => signedOut.push(e.reason));
  c.on("refreshed", (e) => refreshed.push(e.source));
  return { c, signedOut, refreshed };
}

async function signedIn(options: Partial<SessionClientOptions> = {}) {
  const made = client(options);
  await made.c.signIn({ username: "maryo", password: "pw" });
  return made;
}

describe("proactive refresh (P1)", () => {
  it("renews at rfa, before exp, without a request asking", async () => {
    const { c, refreshed } = await signedIn();
    const first = c.accessToken;
    await vi.advanceTimersByTimeAsync(239_000);
    expect(server.tokenCalls).toBe(0);
    await vi.advanceTimersByTimeAsync(1_500);
    expect(server.tokenCalls).toBe(1);
    expect(refreshed).toEqual(["proactive"]);
    expect(c.accessToken).not.toBe(first);
  });

  it("renews lead plus jitter before exp when that comes before rfa", async () => {
    server.ttl = 3600;
    const { c } = await signedIn({ lead: 120, jitter: 60, random: () => 0.5 });
    // exp - 120 s - 30 s = 3450 s; rfa = 2880 s comes first.
    await vi.advanceTimersByTimeAsync(2_879_000);
    expect(server.tokenCalls).toBe(0);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(server.tokenCalls).toBe(1);
    c.stop();
  });

  it.each([3_600_000, -3_600_000])(
    "measures against the server's clock (device off by %i ms)",
    async (skew) => {
      server.skewMs = skew;
      await signedIn();
      await vi.advanceTimersByTimeAsync(238_000);
      expect(server.tokenCalls).toBe(0);
      await vi.advanceTimersByTimeAsync(3_000);
      expect(server.tokenCalls).toBe(1);
    },
  );

  it("never waits longer than MAX_WAIT_MS at a time, so sleep and huge lifetimes are safe", async () => {
    server.ttl = 40 * 86_400;
    const waits: number[] = [];
    const timers = {
      setTimeout: (f: () => void, ms: number) => {
        waits.push(ms);
        return setTimeout(f, ms);
      },
      clearTimeout: (h: unknown) => clearTimeout(h as number),
    };
    const { c } = await signedIn({ timers });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(waits.length).toBeGreaterThan(0);
    expect(Math.max(...waits)).toBeLessThanOrEqual(MAX_WAIT_MS);
    c.stop();
  });

  it("catches up after the machine slept through the renewal point", async () => {
    const target = new EventTarget();
    await signedIn({ target });
    // The clock jumps (sleep) without timers running, then the page becomes visible.
    vi.setSystemTime(Date.now() + 280_000);
    target.dispatchEvent(new Event("visibilitychange"));
    await vi.advanceTimersByTimeAsync(0);
    expect(server.tokenCalls).toBe(1);
  });
});

describe("single flight", () => {
  it("shares one refresh among any number of concurrent callers", async () => {
    const { c } = await signedIn();
    vi.setSystemTime(Date.now() + 301_000);
    const tokens = await Promise.all(Array.from({ length: 50 }, () => c.getAccessToken()));
    expect(server.tokenCalls).toBe(1);
    expect(new Set(tokens).size).toBe(1);
  });
});

describe("reactive refresh", () => {
  it("on 401 invalid_token refreshes once and retries the request once", async () => {
    const { c, refreshed } = await signedIn();
    server.apiAnswers.push(invalidToken);
    const response = await c.fetch(`${server.issuer}/api`);
    expect(response.status).toBe(200);
    expect(server.tokenCalls).toBe(1);
    expect(server.apiCalls).toBe(2);
    expect(refreshed).toEqual(["reactive"]);
  });

  it("does not loop: a second 401 reaches the caller", async () => {
    const { c } = await signedIn();
    server.apiAnswers.push(invalidToken, invalidToken);
    const response = await c.fetch(`${server.issuer}/api`);
    expect(response.status).toBe(401);
    expect(server.apiCalls).toBe(2);
  });

  it("replays a request body, but never a stream", async () => {
    const { c } = await signedIn();
    server.apiAnswers.push(invalidToken);
    const posted = await c.fetch(`${server.issuer}/api`, { method: "POST", body: "hello" });
    expect(posted.status).toBe(200);
    server.apiAnswers.push(invalidToken);
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("x"));
        controller.close();
      },
    });
    const streamed = await c.fetch(`${server.issuer}/api`, {
      method: "POST",
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect(streamed.status).toBe(401);
  });

  it("renews on the soft-expiry header (P11)", async () => {
    const { c, refreshed } = await signedIn();
    server.apiAnswers.push(() => Response.json({}, { headers: { "prolong-refresh": "soon" } }));
    await c.fetch(`${server.issuer}/api`);
    await vi.advanceTimersByTimeAsync(0);
    expect(refreshed).toEqual(["soft-expiry"]);
  });

  it("ignores 401s that are not about the token", async () => {
    const { c } = await signedIn();
    server.apiAnswers.push(() => new Response("no", { status: 401 }));
    expect((await c.fetch(`${server.issuer}/api`)).status).toBe(401);
    expect(server.tokenCalls).toBe(0);
  });
});

describe("failures", () => {
  it("retries network errors, 5xx and 429 with backoff while the token is valid, honouring Retry-After", async () => {
    const { c } = await signedIn();
    const errors: unknown[] = [];
    c.on("error", (e) => errors.push(e.error));
    server.tokenAnswers.push(
      () => {
        throw new TypeError("network down");
      },
      () => new Response("busy", { status: 503 }),
      () => new Response("slow down", { status: 429, headers: { "retry-after": "7" } }),
    );
    const done = c.refresh();
    // Backoff 250 ms, then 500 ms; then Retry-After says 7 s.
    await vi.advanceTimersByTimeAsync(2_000);
    expect(server.tokenCalls).toBe(3);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(server.tokenCalls).toBe(3);
    await vi.advanceTimersByTimeAsync(1_500);
    expect(await done).toBe(true);
    expect(server.tokenCalls).toBe(4);
    expect(errors).toHaveLength(3);
  });

  it.each([
    ["reuse_detected", "reused"],
    ["session_revoked", "revoked"],
    ["session_expired", "expired"],
    ["invalid_grant", "revoked"],
  ])("ends the session once on %s, with reason %s", async (code, reason) => {
    const { c, signedOut } = await signedIn();
    server.tokenAnswers.push(grantError(code), grantError(code));
    expect(await c.refresh()).toBe(false);
    expect(await c.refresh()).toBe(false);
    await vi.advanceTimersByTimeAsync(600_000);
    expect(signedOut).toEqual([reason]);
    expect(c.accessToken).toBeNull();
  });
});

describe("idle (P2)", () => {
  it("signs out once with reason idle when nobody is active, and tells the server", async () => {
    const calls: string[] = [];
    const { c, signedOut } = await signedIn({
      idleTimeout: 600_000,
      fetch: async (input, init) => {
        calls.push(new Request(input, init).url);
        return server.fetch(input, init);
      },
    });
    await vi.advanceTimersByTimeAsync(601_000);
    expect(signedOut).toEqual(["idle"]);
    expect(calls.some((u) => u.endsWith("/logout"))).toBe(true);
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(signedOut).toEqual(["idle"]);
    c.stop();
  });

  it("keeps renewing while touch() reports activity", async () => {
    const { c, signedOut } = await signedIn({ idleTimeout: 600_000 });
    for (let minute = 0; minute < 30; minute++) {
      await vi.advanceTimersByTimeAsync(60_000);
      c.touch();
    }
    expect(signedOut).toEqual([]);
    expect(server.tokenCalls).toBeGreaterThanOrEqual(6);
    c.stop();
  });

  it("counts DOM activity events", async () => {
    const target = new EventTarget();
    const { c, signedOut } = await signedIn({ idleTimeout: 600_000, target });
    for (let minute = 0; minute < 20; minute++) {
      await vi.advanceTimersByTimeAsync(60_000);
      target.dispatchEvent(new Event("keydown"));
    }
    expect(signedOut).toEqual([]);
    c.stop();
  });
});

describe("tabs", () => {
  /**
   * Two channels wired to each other, as BroadcastChannel instances of two tabs are.
   * `delayMs` delivers later, as across browser processes, where a lock can change
   * hands before the message that should have made the next holder stand down.
   */
  function channelPair(delayMs = 0) {
    const listeners: [((e: { data: unknown }) => void)[], ((e: { data: unknown }) => void)[]] = [[], []];
    const deliver = (f: () => void) => (delayMs > 0 ? setTimeout(f, delayMs) : queueMicrotask(f));
    const make = (me: 0 | 1) => ({
      postMessage: (data: unknown) => {
        for (const l of listeners[me === 0 ? 1 : 0]) deliver(() => l({ data: structuredClone(data) }));
      },
      addEventListener: (_type: "message", l: (e: { data: unknown }) => void) => void listeners[me].push(l),
      close: () => {},
    });
    return [make(0), make(1)] as const;
  }

  /** An exclusive lock shared by the two tabs, like navigator.locks. */
  function sharedLock() {
    let tail = Promise.resolve();
    return {
      request<T>(_name: string, callback: () => Promise<T>): Promise<T> {
        const run = tail.then(callback);
        tail = run.then(
          () => undefined,
          () => undefined,
        );
        return run;
      },
    };
  }

  it("one tab refreshes, the other adopts its token and does not refresh", async () => {
    const [a, b] = channelPair();
    const locks = sharedLock();
    const one = client({ profile: "web", channel: a, locks });
    const two = client({ profile: "web", channel: b, locks });
    await one.c.signIn({ username: "maryo", password: "pw" });
    await vi.advanceTimersByTimeAsync(0);
    expect(two.c.accessToken).toBe(one.c.accessToken);
    for (let i = 0; i < 3; i++) await vi.advanceTimersByTimeAsync(250_000);
    // Both were due at the same moment each time; the lock let only one call the server.
    expect(server.tokenCalls).toBe(3);
    expect(two.c.accessToken).toBe(one.c.accessToken);
    // The second tab learnt every token (the sign-in's too) from the first and fetched none itself.
    expect(one.refreshed).toEqual(["proactive", "proactive", "proactive"]);
    expect(two.refreshed).toEqual(["other-tab", "other-tab", "other-tab", "other-tab"]);
  });

  it("one refresh per expiry even when the lock passes before the token's message arrives", async () => {
    const [a, b] = channelPair(40);
    const locks = sharedLock();
    const one = client({ profile: "web", channel: a, locks });
    const two = client({ profile: "web", channel: b, locks });
    await one.c.signIn({ username: "maryo", password: "pw" });
    await vi.advanceTimersByTimeAsync(100);
    expect(two.c.accessToken).toBe(one.c.accessToken);
    for (let i = 0; i < 3; i++) await vi.advanceTimersByTimeAsync(250_000);
    expect(server.tokenCalls).toBe(3);
    expect(two.c.accessToken).toBe(one.c.accessToken);
  });

  it("a tab opened later takes the token from an open tab instead of refreshing", async () => {
    const [a, b] = channelPair();
    const one = client({ profile: "web", channel: a, locks: null });
    await one.c.signIn({ username: "maryo", password: "pw" });
    const two = client({ profile: "web", channel: b, locks: null });
    const started = two.c.start();
    await vi.advanceTimersByTimeAsync(200);
    expect(await started).toBe(true);
    expect(two.c.accessToken).toBe(one.c.accessToken);
    expect(server.tokenCalls).toBe(0);
  });

  it("a tab opened alone resumes from the cookie after a short wait", async () => {
    const [a] = channelPair();
    const alone = client({ profile: "web", channel: a, locks: null });
    const started = alone.c.start();
    await vi.advanceTimersByTimeAsync(200);
    expect(await started).toBe(true);
    expect(server.tokenCalls).toBe(1);
  });

  it("a sign-out in one tab signs the other out, once", async () => {
    const [a, b] = channelPair();
    const one = client({ profile: "web", channel: a, locks: null });
    const two = client({ profile: "web", channel: b, locks: null });
    await one.c.signIn({ username: "maryo", password: "pw" });
    await vi.advanceTimersByTimeAsync(0);
    await one.c.signOut();
    await vi.advanceTimersByTimeAsync(0);
    expect(one.signedOut).toEqual(["logout"]);
    expect(two.signedOut).toEqual(["logout"]);
    expect(two.c.accessToken).toBeNull();
  });
});

describe("lifecycle", () => {
  it("stop() cancels every timer", async () => {
    const { c } = await signedIn({ idleTimeout: 60_000 });
    c.stop();
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(server.tokenCalls).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("native clients keep the refresh token in their storage and resume from it", async () => {
    const stored: (string | null)[] = [];
    const storage = {
      value: null as string | null,
      get() {
        return this.value;
      },
      set(v: string | null) {
        this.value = v;
        stored.push(v);
      },
    };
    const { c } = await signedIn({ storage });
    expect(storage.value).toBe(server.refreshToken);
    c.stop();
    const again = client({ storage });
    expect(await again.c.start()).toBe(true);
    expect(server.tokenCalls).toBe(1);
    expect(again.c.accessToken).not.toBeNull();
  });

  it("start() without a stored session answers false and stays quiet", async () => {
    const { c, signedOut } = client();
    expect(await c.start()).toBe(false);
    expect(signedOut).toEqual([]);
  });
});

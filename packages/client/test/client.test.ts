import {
  type ChannelLike,
  createSessionClient,
  type LockManagerLike,
  MAX_WAIT_MS,
  memoryStorage,
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

/**
 * BroadcastChannel as the tabs of one browser share it: each `channel(name)` opens an
 * endpoint that hears every other open endpoint. `delayMs` delivers later, as across
 * browser processes, where a lock can change hands before the message that should have
 * made the next holder stand down.
 */
function channelBus(delayMs = 0) {
  type Endpoint = ((e: { data: unknown }) => void)[];
  const open = new Set<Endpoint>();
  const deliver = (f: () => void) => (delayMs > 0 ? setTimeout(f, delayMs) : queueMicrotask(f));
  const channel = (_name: string): ChannelLike => {
    const me: Endpoint = [];
    open.add(me);
    return {
      postMessage: (data: unknown) => {
        for (const other of open)
          if (other !== me)
            for (const l of other) deliver(() => open.has(other) && l({ data: structuredClone(data) }));
      },
      addEventListener: (_type, l) => void me.push(l),
      close: () => void open.delete(me),
    };
  };
  return { open, channel };
}

/** An exclusive lock shared by the tabs, like navigator.locks. */
function sharedLock(): LockManagerLike {
  let tail = Promise.resolve();
  return {
    request<T>(_name: string, _options: { signal: AbortSignal }, callback: () => Promise<T>): Promise<T> {
      const run = tail.then(callback);
      tail = run.then(
        () => undefined,
        () => undefined,
      );
      return run;
    },
  };
}

/** An EventTarget that counts the listeners added and not removed. */
class CountingTarget extends EventTarget {
  active = 0;
  override addEventListener(...args: Parameters<EventTarget["addEventListener"]>) {
    this.active++;
    super.addEventListener(...args);
  }
  override removeEventListener(...args: Parameters<EventTarget["removeEventListener"]>) {
    this.active--;
    super.removeEventListener(...args);
  }
}

const down = () => new Response("down", { status: 503 });

/** Gaps between consecutive token-endpoint requests, ms. */
const gaps = (times: number[]) => times.slice(1).map((t, i) => t - (times[i] as number));

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

  it("renews lead before exp when that comes before rfa, less the jitter", async () => {
    server.ttl = 3600;
    // rfa = 2880 s; exp - 900 s = 2700 s comes first; less half of 60 s of jitter: 2670 s.
    const { c } = await signedIn({ lead: 900, jitter: 60, random: () => 0.5 });
    await vi.advanceTimersByTimeAsync(2_669_000);
    expect(server.tokenCalls).toBe(0);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(server.tokenCalls).toBe(1);
    c.stop();
  });

  it("spreads renewals of tokens issued together over the jitter before rfa", async () => {
    // Default 300 s tokens: rfa = 240 s decides. A client drawing 0.9 of 10 s renews at 231 s.
    const { c } = await signedIn({ random: () => 0.9 });
    await vi.advanceTimersByTimeAsync(230_500);
    expect(server.tokenCalls).toBe(0);
    await vi.advanceTimersByTimeAsync(1_000);
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

  it.each([200, 400])(
    "retries an answer (%i) whose body was cut off on its way, as a lost one: never adopted, never a sign-out",
    async (status) => {
      const { c, signedOut, refreshed } = await signedIn({ storage: memoryStorage() });
      const errors: unknown[] = [];
      c.on("error", (e) => errors.push(e.error));
      const held = server.refreshToken;
      // The head arrived, then the connection broke in the middle of the JSON.
      const cutOff = () =>
        new Response(
          new ReadableStream({
            start(controller) {
              controller.enqueue(new TextEncoder().encode('{"access_token":"ey'));
              controller.error(new TypeError("terminated"));
            },
          }),
          { status, headers: { "content-type": "application/json" } },
        );
      server.tokenAnswers.push(cutOff);
      const done = c.refresh();
      await vi.advanceTimersByTimeAsync(1_000);
      expect(await done).toBe(true);
      expect(server.tokenCalls).toBe(2);
      expect(errors).toHaveLength(1);
      expect(signedOut).toEqual([]);
      expect(refreshed).toEqual(["manual"]);
      expect(server.refreshToken).not.toBe(held);
    },
  );

  it("reports a code for each failure, and takes a 200 without a token or a 401 for failures, not the session's end", async () => {
    const { c, signedOut } = await signedIn({ storage: memoryStorage() });
    const held = c.accessToken;
    const codes: [string, number | undefined, boolean][] = [];
    c.on("error", (e) => codes.push([e.code, e.status, e.fatal]));
    server.tokenAnswers.push(
      () => {
        throw new TypeError("Failed to fetch");
      },
      () => new Response("<html>gateway</html>", { status: 200, headers: { "content-type": "text/html" } }),
      () => Response.json({ error: "invalid_client" }, { status: 401 }),
      () => new Response("busy", { status: 502 }),
      () => new Response("slow down", { status: 429 }),
    );
    const done = c.refresh();
    await vi.advanceTimersByTimeAsync(30_000);
    expect(await done).toBe(true);
    expect(codes).toEqual([
      ["network", undefined, false],
      ["unexpected_answer", 200, false],
      ["unexpected_answer", 401, false],
      ["server_error", 502, false],
      ["rate_limited", 429, false],
    ]);
    expect(signedOut).toEqual([]);
    expect(c.accessToken).not.toBe(held);
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

describe("a session begun while a refresh is in flight", () => {
  it.each([
    ["204 (no cookie yet)", () => new Response(null, { status: 204 })],
    ["invalid_grant", grantError("session_revoked")],
  ])("a resume's late %s does not end a session signed in meanwhile", async (_name, late) => {
    const { c, signedOut } = client({ profile: "web" });
    let answer: (response: Response) => void = () => {};
    server.tokenAnswers.push(() => new Promise<Response>((resolve) => (answer = resolve)));
    const started = c.start();
    await vi.advanceTimersByTimeAsync(10);
    await c.signIn({ username: "maryo", password: "pw" });
    answer(late());
    expect(await started).toBe(true);
    expect(signedOut).toEqual([]);
    expect(c.accessToken).not.toBeNull();
  });
});

describe("a server that is not the configured issuer", () => {
  it("reports issuer_mismatch once, as fatal, and stops: no token request, no retry, no timer", async () => {
    const { c, signedOut } = client({ issuer: "https://other.test", profile: "web" });
    const errors: [string, boolean][] = [];
    c.on("error", (e) => errors.push([e.code, e.fatal]));
    expect(await c.start()).toBe(false);
    await vi.advanceTimersByTimeAsync(600_000);
    expect(errors).toEqual([["issuer_mismatch", true]]);
    expect(server.tokenCalls).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    expect(signedOut).toEqual([]);
    const refused = await c.signIn({ username: "maryo", password: "pw" }).catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: "issuer_mismatch" });
  });

  it("takes the issuer with or without a trailing slash", async () => {
    const { c } = client({ issuer: `${server.issuer}/` });
    await c.signIn({ username: "maryo", password: "pw" });
    expect(c.accessToken).not.toBeNull();
  });
});

describe("idle (P2)", () => {
  it("signs out once with reason idle when nobody is active, and revokes the session at the server", async () => {
    const { c, signedOut } = await signedIn({ idleTimeout: 600_000 });
    await vi.advanceTimersByTimeAsync(601_000);
    expect(signedOut).toEqual(["idle"]);
    // Renewals happened meanwhile: the token revoked is the last one issued.
    expect(server.revocations.map((r) => r.form.token)).toEqual([server.refreshToken]);
    expect(server.revoked).toBe(true);
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
  it("one tab refreshes, the other adopts its token and does not refresh", async () => {
    const bus = channelBus();
    const locks = sharedLock();
    const one = client({ profile: "web", channel: bus.channel, locks });
    const two = client({ profile: "web", channel: bus.channel, locks });
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
    const bus = channelBus(40);
    const locks = sharedLock();
    const one = client({ profile: "web", channel: bus.channel, locks });
    const two = client({ profile: "web", channel: bus.channel, locks });
    await one.c.signIn({ username: "maryo", password: "pw" });
    await vi.advanceTimersByTimeAsync(100);
    expect(two.c.accessToken).toBe(one.c.accessToken);
    for (let i = 0; i < 3; i++) await vi.advanceTimersByTimeAsync(250_000);
    expect(server.tokenCalls).toBe(3);
    expect(two.c.accessToken).toBe(one.c.accessToken);
  });

  it("a tab opened later takes the token from an open tab instead of refreshing", async () => {
    const bus = channelBus();
    const one = client({ profile: "web", channel: bus.channel, locks: null });
    await one.c.signIn({ username: "maryo", password: "pw" });
    const two = client({ profile: "web", channel: bus.channel, locks: null });
    const started = two.c.start();
    await vi.advanceTimersByTimeAsync(200);
    expect(await started).toBe(true);
    expect(two.c.accessToken).toBe(one.c.accessToken);
    expect(server.tokenCalls).toBe(0);
  });

  it("a tab opened alone resumes from the cookie after a short wait", async () => {
    const alone = client({ profile: "web", channel: channelBus().channel, locks: null });
    const started = alone.c.start();
    await vi.advanceTimersByTimeAsync(200);
    expect(await started).toBe(true);
    expect(server.tokenCalls).toBe(1);
  });

  it("a sign-out in one tab signs the other out, once", async () => {
    const bus = channelBus();
    const one = client({ profile: "web", channel: bus.channel, locks: null });
    const two = client({ profile: "web", channel: bus.channel, locks: null });
    await one.c.signIn({ username: "maryo", password: "pw" });
    await vi.advanceTimersByTimeAsync(0);
    await one.c.signOut();
    await vi.advanceTimersByTimeAsync(0);
    expect(one.signedOut).toEqual(["logout"]);
    expect(two.signedOut).toEqual(["logout"]);
    expect(two.c.accessToken).toBeNull();
  });
});

describe("tab messages", () => {
  /** A client on a channel, and a function that posts `data` to it as another tab would. */
  function listening() {
    let deliver: (data: unknown) => void = () => {};
    const channel = (): ChannelLike => ({
      postMessage: () => {},
      addEventListener: (_type, listener) => {
        deliver = (data) => listener({ data });
      },
      close: () => {},
    });
    return { made: client({ profile: "web", channel, locks: null }), post: (data: unknown) => deliver(data) };
  }

  it("ignores messages not of a tab message's shape, and acts on well-formed ones", async () => {
    const { made, post } = listening();
    await made.c.signIn({ username: "maryo", password: "pw" });
    const held = made.c.accessToken;
    for (const data of [
      { type: "signedOut", reason: "because" },
      { type: "signedOut" },
      { type: "tokens", accessToken: 42 },
      { type: "tokens" },
      "signedOut",
      null,
    ])
      post(data);
    expect(made.signedOut).toEqual([]);
    expect(made.c.accessToken).toBe(held);
    post({ type: "signedOut", reason: "reused" });
    expect(made.signedOut).toEqual(["reused"]);
    expect(made.c.accessToken).toBeNull();
  });
});

describe("a page rendered on the server (start with its answer)", () => {
  /** A client that records every request it makes, token endpoint or not. */
  function recording(options: Partial<SessionClientOptions> = {}) {
    const requests: string[] = [];
    const fetch = (input: RequestInfo | URL, init?: RequestInit) => {
      requests.push(new Request(input).url);
      return server.fetch(input, init);
    };
    return { ...client({ profile: "web", fetch, ...options }), requests };
  }

  it.each([0, 3_600_000, -3_600_000])(
    "makes no request, and renews a token issued 100 s before at its rfa on the server's clock (device off by %i ms)",
    async (skew) => {
      server.skewMs = skew;
      // Default 300 s tokens, rfa at 240 s: the server rendered the page 100 s after issuing it.
      const token = server.accessToken();
      await vi.advanceTimersByTimeAsync(100_000);
      const { c, requests, refreshed } = recording();
      expect(await c.start({ access_token: token, expires_in: 200 })).toBe(true);
      expect(c.accessToken).toBe(token);
      expect(c.claims?.sub).toBe("u1");
      await vi.advanceTimersByTimeAsync(139_000);
      expect(requests).toEqual([]);
      await vi.advanceTimersByTimeAsync(2_000);
      expect(server.tokenCalls).toBe(1);
      expect(refreshed).toEqual(["proactive"]);
      c.stop();
    },
  );

  it("start(null), a page rendered signed out: no request, false, and a token another tab shares is taken", async () => {
    const bus = channelBus();
    const rendered = recording({ channel: bus.channel });
    const authorized: string[] = [];
    rendered.c.on("authorized", ({ claims }) => authorized.push(claims.sub));
    const started = rendered.c.start(null);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await started).toBe(false);
    expect(rendered.requests).toEqual([]);

    const other = client({ profile: "web", channel: bus.channel });
    await other.c.signIn({ username: "maryo", password: "pw" });
    await vi.advanceTimersByTimeAsync(0);
    expect(rendered.c.accessToken).toBe(other.c.accessToken);
    expect(authorized).toEqual(["u1"]);
  });

  it("an open tab keeps its newer token when the page shares the older one it was rendered with; one renewal serves both", async () => {
    const bus = channelBus();
    const locks = sharedLock();
    // The page was rendered with the cookie's token; the open tab renewed before it loaded.
    const older = server.accessToken();
    await vi.advanceTimersByTimeAsync(10_000);
    const open = client({ profile: "web", channel: bus.channel, locks });
    await open.c.signIn({ username: "maryo", password: "pw" });
    const newer = open.c.accessToken;
    const page = recording({ channel: bus.channel, locks });
    expect(await page.c.start({ access_token: older, expires_in: 290 })).toBe(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(open.c.accessToken).toBe(newer);
    expect(open.refreshed).toEqual([]);
    expect(page.requests).toEqual([]);
    // The page's token is due first (rfa 240 s after its issue): it renews, the open tab takes that.
    await vi.advanceTimersByTimeAsync(240_000);
    expect(server.tokenCalls).toBe(1);
    expect(open.c.accessToken).toBe(page.c.accessToken);
    expect(open.refreshed).toEqual(["other-tab"]);
  });

  it("a tab that takes the page's token, issued 100 s before, renews it at its rfa on the server's clock", async () => {
    const bus = channelBus();
    const open = client({ profile: "web", channel: bus.channel });
    await open.c.signIn({ username: "maryo", password: "pw" });
    await vi.advanceTimersByTimeAsync(100_000);
    // Renewed where this tab could not hear it (a server render), then rendered into a page 100 s later.
    const renewed = server.accessToken();
    await vi.advanceTimersByTimeAsync(100_000);
    const page = recording({ channel: bus.channel });
    await page.c.start({ access_token: renewed, expires_in: 200 });
    await vi.advanceTimersByTimeAsync(0);
    expect(open.c.accessToken).toBe(renewed);
    // The page is closed; the open tab alone renews the token at its rfa, 140 s from now.
    page.c.stop();
    await vi.advanceTimersByTimeAsync(139_000);
    expect(server.tokenCalls).toBe(0);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(server.tokenCalls).toBe(1);
    expect(open.refreshed).toEqual(["other-tab", "proactive"]);
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

  it("a token answer without refresh_token keeps the refresh token held (native)", async () => {
    const presented: (string | null)[] = [];
    const { c } = await signedIn({
      fetch: (input, init) => {
        if (String(input).endsWith("/oauth/token"))
          presented.push(new URLSearchParams(String(init?.body)).get("refresh_token"));
        return server.fetch(input, init);
      },
    });
    const held = server.refreshToken;
    // A request that lost a race inside the grace window gets an access token and no refresh token.
    server.tokenAnswers.push(() =>
      Response.json({ access_token: server.accessToken(), token_type: "Bearer", expires_in: server.ttl }),
    );
    expect(await c.refresh()).toBe(true);
    expect(await c.refresh()).toBe(true);
    expect(presented).toEqual([held, held]);
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

describe("sign-out", () => {
  it("revokes the stored refresh token even once the access token has expired, and empties storage", async () => {
    const storage = memoryStorage();
    const { c, signedOut } = await signedIn({ storage });
    const held = await storage.get();
    // Past exp and any tolerance, without a timer running: no renewal happened.
    vi.setSystemTime(Date.now() + 400_000);
    await c.signOut();
    expect(server.revocations).toEqual([
      {
        form: { token: held, token_type_hint: "refresh_token", client_id: "native" },
        csrf: null,
        credentials: "include",
      },
    ]);
    expect(server.revoked).toBe(true);
    expect(await storage.get()).toBeNull();
    expect(c.accessToken).toBeNull();
    expect(signedOut).toEqual(["logout"]);
    expect(server.tokenCalls).toBe(0);
  });

  it("web: revokes through the cookie, with the CSRF header and no token field", async () => {
    const { c, signedOut } = await signedIn({ profile: "web" });
    vi.setSystemTime(Date.now() + 400_000);
    await c.signOut();
    expect(server.revocations).toEqual([
      { form: { token_type_hint: "refresh_token", client_id: "web" }, csrf: "1", credentials: "include" },
    ]);
    expect(signedOut).toEqual(["logout"]);
  });

  it("signs out here, once, even when the server cannot be reached", async () => {
    const storage = memoryStorage();
    const { c, signedOut } = await signedIn({
      storage,
      fetch: async (input, init) => {
        if (new Request(input).url.endsWith("/oauth/revoke")) throw new TypeError("offline");
        return server.fetch(input, init);
      },
    });
    await c.signOut();
    expect(signedOut).toEqual(["logout"]);
    expect(c.accessToken).toBeNull();
    expect(await storage.get()).toBeNull();
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(signedOut).toEqual(["logout"]);
    expect(server.tokenCalls).toBe(0);
  });

  it("the revocation outlives a stop() right after sign-out (the app unmounts)", async () => {
    const { c, signedOut } = await signedIn({
      // The revocation takes 50 ms to answer, and is lost if aborted meanwhile.
      fetch: (input, init) => {
        if (!new Request(input).url.endsWith("/oauth/revoke")) return server.fetch(input, init);
        return new Promise((resolve, reject) => {
          init?.signal?.addEventListener("abort", () => reject(init.signal?.reason));
          setTimeout(() => init?.signal?.aborted || resolve(server.fetch(input, init)), 50);
        });
      },
    });
    const out = c.signOut();
    await vi.advanceTimersByTimeAsync(10);
    c.stop();
    await vi.advanceTimersByTimeAsync(100);
    await out;
    expect(server.revoked).toBe(true);
    expect(signedOut).toEqual(["logout"]);
  });

  it("a refresh in flight when the user signs out does not bring the session back", async () => {
    const { c, signedOut, refreshed } = await signedIn();
    let answer = () => {};
    server.tokenAnswers.push(
      () =>
        new Promise<Response>((resolve) => {
          answer = () => resolve(server.tokens());
        }),
    );
    const renewing = c.refresh();
    await vi.advanceTimersByTimeAsync(0);
    await c.signOut();
    answer();
    expect(await renewing).toBe(false);
    await vi.advanceTimersByTimeAsync(600_000);
    expect(c.accessToken).toBeNull();
    expect(refreshed).toEqual([]);
    expect(signedOut).toEqual(["logout"]);
  });
});

describe("backoff", () => {
  it("keeps backing off once the token has expired, doubling up to maxRetryDelay, and does not sign out", async () => {
    const { c, signedOut } = await signedIn();
    server.fallback = down;
    await vi.advanceTimersByTimeAsync(20 * 60_000);
    const waits = gaps(server.tokenCallTimes);
    // random() = 0 takes the low end of the jitter, half of each step: 250 ms doubling, capped at 15 s.
    expect(waits.slice(0, 7)).toEqual([250, 500, 1000, 2000, 4000, 8000, 15_000]);
    expect(new Set(waits.slice(6))).toEqual(new Set([15_000]));
    // 20 minutes at the cap is about 70 requests, not 2 400 at a fixed 0.5 s.
    expect(server.tokenCalls).toBeLessThan(100);
    // Callers meanwhile get no token and cause no request: the count survives across calls.
    const calls = server.tokenCalls;
    expect(await Promise.all([c.getAccessToken(), c.getAccessToken()])).toEqual([null, null]);
    expect(await c.refresh()).toBe(false);
    expect(server.tokenCalls).toBe(calls);
    expect(signedOut).toEqual([]);
  });

  it("spreads retries with jitter between half and all of each step", async () => {
    await signedIn({ random: () => 0.999 });
    server.fallback = down;
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    const waits = gaps(server.tokenCallTimes);
    expect(waits[0]).toBeGreaterThan(490);
    expect(waits[0]).toBeLessThanOrEqual(500);
    expect(Math.max(...waits)).toBeLessThanOrEqual(30_000);
    expect(Math.max(...waits)).toBeGreaterThan(29_900);
  });

  it("starts over after a success", async () => {
    const { c } = await signedIn();
    server.fallback = down;
    await vi.advanceTimersByTimeAsync(250_000);
    expect(server.tokenCalls).toBeGreaterThan(5);
    server.fallback = null;
    await vi.advanceTimersByTimeAsync(20_000);
    const renewed = c.claims?.iat as number;
    expect(renewed * 1000).toBeGreaterThan(Date.now() - 20_000);
    const before = server.tokenCallTimes.length;
    server.fallback = down;
    await vi.advanceTimersByTimeAsync(300_000);
    expect(gaps(server.tokenCallTimes.slice(before)).slice(0, 3)).toEqual([250, 500, 1000]);
  });

  it.each([
    ["delay-seconds", () => "20", 20_000],
    ["an HTTP-date", () => new Date(Date.now() + 12_000).toUTCString(), 12_000],
  ])("honours Retry-After as %s once the token has expired", async (_kind, header, wait) => {
    const { c } = await signedIn();
    vi.setSystemTime(Date.now() + 400_000);
    server.fallback = () => new Response("busy", { status: 429, headers: { "retry-after": header() } });
    expect(await c.getAccessToken()).toBeNull();
    await vi.advanceTimersByTimeAsync(wait - 100);
    expect(server.tokenCalls).toBe(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(server.tokenCalls).toBe(2);
    expect(gaps(server.tokenCallTimes)).toEqual([wait]);
  });

  it("a resume that met an outage authorizes the session once a retry succeeds", async () => {
    const storage = memoryStorage();
    await storage.set("rt-0");
    const { c } = client({ storage });
    const authorized: string[] = [];
    c.on("authorized", (e) => authorized.push(e.accessToken));
    server.tokenAnswers.push(down);
    expect(await c.start()).toBe(false);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(c.accessToken).not.toBeNull();
    expect(authorized).toEqual([c.accessToken]);
  });
});

describe("back online", () => {
  const offline = () => {
    throw new TypeError("Failed to fetch");
  };

  it("`online` ends a network backoff at once, while callers wait on a valid token", async () => {
    const target = new EventTarget();
    const { c, refreshed } = await signedIn({ target });
    server.fallback = offline;
    const done = c.refresh();
    // Attempts at 0, 0.25, 0.75, 1.75, 3.75 and 7.75 s; the next would wait until 15.75 s.
    await vi.advanceTimersByTimeAsync(8_000);
    expect(server.tokenCalls).toBe(6);
    server.fallback = null;
    target.dispatchEvent(new Event("online"));
    await vi.advanceTimersByTimeAsync(10);
    expect(server.tokenCalls).toBe(7);
    expect(await done).toBe(true);
    expect(refreshed).toEqual(["manual"]);
  });

  it("`online` retries at once a resume that the network stopped", async () => {
    const target = new EventTarget();
    let stored: string | null = "rt-0";
    const storage = {
      get: () => stored,
      set: (token: string | null) => {
        stored = token;
      },
    };
    const { c } = client({ target, storage });
    const authorized: string[] = [];
    c.on("authorized", (e) => authorized.push(e.accessToken));
    server.fallback = offline;
    expect(await c.start()).toBe(false);
    await vi.advanceTimersByTimeAsync(8_000);
    expect(server.tokenCalls).toBe(6);
    server.fallback = null;
    target.dispatchEvent(new Event("online"));
    await vi.advanceTimersByTimeAsync(10);
    expect(server.tokenCalls).toBe(7);
    expect(authorized).toEqual([c.accessToken]);
    expect(stored).toBe(server.refreshToken);
  });

  it("a server's Retry-After holds through `online`", async () => {
    const target = new EventTarget();
    const { c } = await signedIn({ target });
    server.tokenAnswers.push(() => new Response("busy", { status: 503, headers: { "retry-after": "20" } }));
    const done = c.refresh();
    await vi.advanceTimersByTimeAsync(1_000);
    target.dispatchEvent(new Event("online"));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(server.tokenCalls).toBe(1);
    await vi.advanceTimersByTimeAsync(19_000);
    expect(await done).toBe(true);
    expect(server.tokenCalls).toBe(2);
  });
});

describe("timeouts", () => {
  /** The server's fetch, except that the first token request hangs until it is aborted. */
  function hangingOnce(): typeof fetch {
    let hung = false;
    return (input, init) => {
      if (hung || !new Request(input).url.endsWith("/oauth/token")) return server.fetch(input, init);
      hung = true;
      return new Promise((_, reject) =>
        init?.signal?.addEventListener("abort", () => reject(init.signal?.reason)),
      );
    };
  }

  it("gives up on a refresh request after requestTimeout (10 s) and retries it as a network failure", async () => {
    const { c } = await signedIn({ fetch: hangingOnce() });
    const errors: unknown[] = [];
    c.on("error", (e) => errors.push(e.error));
    let result: boolean | undefined;
    void c.refresh().then((r) => {
      result = r;
    });
    await vi.advanceTimersByTimeAsync(9_900);
    expect(result).toBeUndefined();
    // The timeout, then 250 ms of backoff, then a request that succeeds.
    await vi.advanceTimersByTimeAsync(500);
    expect(result).toBe(true);
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).name).toBe("AbortError");
    expect(server.tokenCalls).toBe(1);
  });

  it("refreshes on its own when the cross-tab lock is not granted within lockTimeout (5 s)", async () => {
    const asked: string[] = [];
    const stuck: LockManagerLike = {
      request: (name, { signal }) => {
        asked.push(name);
        return new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
      },
    };
    const { c } = await signedIn({ locks: stuck });
    let result: boolean | undefined;
    void c.refresh().then((r) => {
      result = r;
    });
    await vi.advanceTimersByTimeAsync(4_900);
    expect(server.tokenCalls).toBe(0);
    await vi.advanceTimersByTimeAsync(200);
    expect(server.tokenCalls).toBe(1);
    expect(result).toBe(true);
    expect(asked).toEqual([`prolong-refresh:${server.issuer}`]);
  });
});

describe("stop and start again", () => {
  it("stop() twice is harmless; start() after stop() re-arms listeners, channel and timers once", async () => {
    const target = new CountingTarget();
    const bus = channelBus();
    const { c } = await signedIn({ profile: "web", target, channel: bus.channel, idleTimeout: 600_000 });
    const listeners = target.active;
    expect(listeners).toBe(8);
    expect(bus.open.size).toBe(1);
    c.stop();
    c.stop();
    expect(target.active).toBe(0);
    expect(bus.open.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    // Mounted, unmounted and mounted again, as React Strict Mode does.
    void c.start();
    c.stop();
    expect(await c.start()).toBe(true);
    expect(target.active).toBe(listeners);
    expect(bus.open.size).toBe(1);
    // The renewal and the idle deadline, once each.
    expect(vi.getTimerCount()).toBe(2);
    await vi.advanceTimersByTimeAsync(241_000);
    expect(server.tokenCalls).toBe(1);
    c.stop();
    await c.signIn({ username: "maryo", password: "pw" });
    expect(target.active).toBe(listeners);
    expect(bus.open.size).toBe(1);
  });

  it("a start() cut short by stop() resumes once when started again", async () => {
    const bus = channelBus();
    const { c } = client({ profile: "web", channel: bus.channel });
    const first = c.start();
    c.stop();
    const second = c.start();
    await vi.advanceTimersByTimeAsync(200);
    expect(await first).toBe(false);
    expect(await second).toBe(true);
    expect(server.tokenCalls).toBe(1);
    expect(bus.open.size).toBe(1);
  });

  it("a stopped client starts no timer, whatever is called on it", async () => {
    const { c } = await signedIn({ idleTimeout: 600_000 });
    c.stop();
    c.touch();
    expect(await c.refresh()).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("stop() during a retry backoff ends it: no timer left, no request after", async () => {
    const { c } = await signedIn();
    server.fallback = down;
    const result = c.refresh();
    await vi.advanceTimersByTimeAsync(100);
    c.stop();
    expect(await result).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
    const calls = server.tokenCalls;
    await vi.advanceTimersByTimeAsync(600_000);
    expect(server.tokenCalls).toBe(calls);
  });
});

describe("where the access token goes", () => {
  it("sends none to a third-party origin, and neither refreshes nor retries for it", async () => {
    const { c } = await signedIn();
    expect((await (await c.fetch("https://tracker.example/pixel")).json()).auth).toBeNull();
    server.apiAnswers.push(invalidToken);
    expect((await c.fetch("https://tracker.example/pixel")).status).toBe(401);
    expect(server.apiCalls).toBe(2);
    expect(server.tokenCalls).toBe(0);
  });

  it("sends it to the issuer's origin and to allowedOrigins, whatever form the URL takes", async () => {
    const { c } = await signedIn({ allowedOrigins: ["https://api.example", "http://localhost:8080/"] });
    const bearer = `Bearer ${c.accessToken}`;
    for (const input of [
      `${server.issuer}/api`,
      "https://api.example/orders",
      new URL("https://api.example/orders"),
      new Request("https://api.example/orders"),
      "http://localhost:8080/x",
    ])
      expect((await (await c.fetch(input)).json()).auth).toBe(bearer);
    for (const other of ["https://api.example.evil/x", "http://api.example/x", "https://sub.api.example/x"])
      expect((await (await c.fetch(other)).json()).auth).toBeNull();
  });

  it("resolves relative URLs against the page", () => {
    const { c } = client();
    vi.stubGlobal("location", { href: `${server.issuer}/app/` });
    expect(c.allowsTokenFor("/api")).toBe(true);
    vi.stubGlobal("location", { href: "https://elsewhere.example/" });
    expect(c.allowsTokenFor("/api")).toBe(false);
    vi.unstubAllGlobals();
    expect(c.allowsTokenFor("/api")).toBe(false);
  });

  it.each(["api.example", "https://api.example/v1", "https://api.example?x=1", "*", ""])(
    "refuses %j in allowedOrigins with a clear error",
    (bad) => {
      let error: unknown;
      try {
        client({ allowedOrigins: [bad] });
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(TypeError);
      expect(error).toMatchObject({
        code: "invalid_origin",
        message: expect.stringContaining("not an origin"),
      });
    },
  );
});

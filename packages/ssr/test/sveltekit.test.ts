import type { Renewal, ServerSession } from "@prolong/ssr";
import { renewedRequest, sessionHandle, setCookies } from "@prolong/ssr/sveltekit";
import type { Handle } from "@sveltejs/kit";
import { describe, expect, it } from "vitest";

/** A renewal as a test gives it: `unavailable` is false unless said. */
type Given = Omit<Renewal, "unavailable"> & { unavailable?: boolean };

// The adapter alone, over a stand-in for `renew` (its own suite, sessions.test.ts, runs it
// against a real prolong) and a stand-in for SvelteKit's `resolve`; e2e/ssr-sveltekit
// runs it inside a real SvelteKit build.

const SESSION: ServerSession = {
  subject: "user-1",
  sessionId: "s-1",
  claims: {} as ServerSession["claims"],
  expiresAt: 0,
  accessToken: "at",
};
const NEW_COOKIES = [
  "__Host-prolong-rt=rt2; Path=/; Max-Age=600; HttpOnly; Secure; SameSite=Lax",
  "__Host-prolong-at=at2; Path=/; Max-Age=60; HttpOnly; Secure; SameSite=Lax",
];

type Event = Parameters<Handle>[0]["event"];

function eventFor(path: string, cookie = "__Host-prolong-rt=rt1; theme=dark"): Event {
  const url = new URL(`https://app.example.test${path}`);
  return {
    url,
    request: new Request(url, { method: "POST", headers: { cookie }, body: "a=1" }),
    locals: {},
  } as unknown as Event;
}

/** The hook over a `renew` that answers `renewal` and counts its calls. */
function hook(given: Given) {
  const renewal: Renewal = { unavailable: false, ...given };
  const calls: Request[] = [];
  const handle = sessionHandle({
    sessions: {
      async renew(request) {
        calls.push(request);
        return renewal;
      },
    },
  });
  return { handle, calls };
}

/** Runs the hook with a route that sees the event (as SvelteKit hands a load a copy of it) and answers `answer`. */
async function run(
  handle: Handle,
  event: Event,
  route: (event: Event) => Response | Promise<Response> = () => new Response("page"),
): Promise<Response> {
  return handle({ event, resolve: async (resolved) => route({ ...resolved }) });
}

describe("sessionHandle", () => {
  it("renews before the route runs and gives it the session in event.locals", async () => {
    const { handle, calls } = hook({ session: SESSION, setCookies: [], requestCookie: null });
    const event = eventFor("/account");
    let seen: unknown;
    await run(handle, event, (copy) => {
      seen = (copy.locals as { session?: unknown }).session;
      return new Response("page");
    });
    expect(calls).toEqual([event.request]);
    expect(seen).toBe(SESSION);
  });

  it("answers 503 without resolving when a renewal was due and prolong could not answer", async () => {
    const { handle } = hook({ session: null, setCookies: [], requestCookie: null, unavailable: true });
    let resolved = false;
    const response = await run(handle, eventFor("/account"), () => {
      resolved = true;
      return new Response("login form");
    });
    expect(resolved).toBe(false);
    expect(response.status).toBe(503);
  });

  it("adds the renewal's Set-Cookie lines, each its own header, and private, no-store", async () => {
    const { handle } = hook({ session: SESSION, setCookies: NEW_COOKIES, requestCookie: "x=1" });
    const response = await run(
      handle,
      eventFor("/account"),
      () => new Response("page", { headers: { "cache-control": "public, max-age=60" } }),
    );
    expect(response.headers.getSetCookie()).toEqual(NEW_COOKIES);
    expect(response.headers.get("cache-control")).toBe("private, no-store");
  });

  it("marks a page rendered for a session private even when no cookie changed, since it is that user's", async () => {
    const { handle } = hook({ session: SESSION, setCookies: [], requestCookie: null });
    const response = await run(handle, eventFor("/account"));
    expect(response.headers.getSetCookie()).toEqual([]);
    expect(response.headers.get("cache-control")).toBe("private, no-store");
  });

  it("leaves a signed-out answer that sets no cookie as the route made it, cacheable if the route says so", async () => {
    const { handle } = hook({ session: null, setCookies: [], requestCookie: null });
    const response = await run(
      handle,
      eventFor("/"),
      () => new Response("home", { headers: { "cache-control": "public, max-age=60" } }),
    );
    expect(response.headers.get("cache-control")).toBe("public, max-age=60");
  });

  it("sends the cookies that end a session (invalid_grant) with the signed-out answer, private", async () => {
    const cleared = ["__Host-prolong-rt=; Path=/; Max-Age=0", "__Host-prolong-at=; Path=/; Max-Age=0"];
    const { handle } = hook({ session: null, setCookies: cleared, requestCookie: "theme=dark" });
    const response = await run(handle, eventFor("/account"), () =>
      Response.redirect("https://app.example.test/login", 303),
    );
    // Response.redirect's headers are immutable: the hook answers with a copy.
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("https://app.example.test/login");
    expect(response.headers.getSetCookie()).toEqual(cleared);
    expect(response.headers.get("cache-control")).toBe("private, no-store");
  });

  it("lets a route's own cookies (a login, a sign-out) replace the renewal's", async () => {
    const { handle } = hook({ session: SESSION, setCookies: NEW_COOKIES, requestCookie: null });
    const login = ["__Host-prolong-rt=other; Path=/", "__Host-prolong-at=other; Path=/"];
    const response = await run(handle, eventFor("/login"), (copy) => {
      setCookies(copy, login);
      return new Response(null, { status: 303, headers: { location: "/account" } });
    });
    expect(response.headers.getSetCookie()).toEqual(login);
    expect(response.headers.get("cache-control")).toBe("private, no-store");
  });

  it("hands a route the request with the renewed cookies, for signing out the refresh token the browser now holds", async () => {
    const renewedCookie = "__Host-prolong-rt=rt2; __Host-prolong-at=at2; theme=dark";
    const { handle } = hook({ session: SESSION, setCookies: NEW_COOKIES, requestCookie: renewedCookie });
    const event = eventFor("/logout");
    let request: Request | undefined;
    await run(handle, event, (copy) => {
      request = renewedRequest(copy);
      return new Response(null, { status: 303 });
    });
    expect(request?.headers.get("cookie")).toBe(renewedCookie);
    expect(request?.url).toBe(event.request.url);
    expect(request?.method).toBe("POST");
    // The browser's own request is left as it came.
    expect(event.request.headers.get("cookie")).toBe("__Host-prolong-rt=rt1; theme=dark");
  });

  it("hands the request itself when nothing was renewed, and one without a Cookie header when every cookie went", async () => {
    const same = hook({ session: SESSION, setCookies: [], requestCookie: null });
    const event = eventFor("/logout");
    let request: Request | undefined;
    await run(same.handle, event, (copy) => {
      request = renewedRequest(copy);
      return new Response("");
    });
    expect(request).toBe(event.request);

    const gone = hook({ session: null, setCookies: [], requestCookie: "" });
    await run(gone.handle, eventFor("/logout"), (copy) => {
      request = renewedRequest(copy);
      return new Response("");
    });
    expect(request?.headers.has("cookie")).toBe(false);
  });

  it("says so when setCookies or renewedRequest is used on a request the hook did not see", () => {
    const event = eventFor("/login");
    expect(() => setCookies(event, NEW_COOKIES)).toThrow(/did not go through sessionHandle/);
    expect(() => renewedRequest(event)).toThrow(
      /renewedRequest: the request did not go through sessionHandle/,
    );
  });
});

import type { Renewal, ServerSession } from "@prolong/ssr";
import { sessionContext, sessionMiddleware } from "@prolong/ssr/react-router";
import { RouterContextProvider } from "react-router";
import { describe, expect, it } from "vitest";

/** A renewal as a test gives it: `unavailable` is false unless said. */
type Given = Omit<Renewal, "unavailable"> & { unavailable?: boolean };

const SESSION: ServerSession = {
  subject: "user-42",
  sessionId: "s1",
  claims: {} as ServerSession["claims"],
  expiresAt: 0,
  accessToken: "header.payload.signature",
};
const NEW_ACCESS = "__Host-prolong-at=new-access; Path=/; Max-Age=5; HttpOnly; Secure; SameSite=Lax";
const NEW_REFRESH = "__Host-prolong-rt=new-refresh; Path=/; Max-Age=600; HttpOnly; Secure; SameSite=Lax";
const CLEAR_ACCESS = "__Host-prolong-at=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax";
const CLEAR_REFRESH = "__Host-prolong-rt=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax";

/** Runs the middleware once over a renewal decided in advance (this file tests the adapter, not `renew`). */
async function run(given: Given, route: (request: Request, context: RouterContextProvider) => Response) {
  const renewal: Renewal = { unavailable: false, ...given };
  const request = new Request("http://127.0.0.1/devices", { headers: { cookie: "__Host-prolong-rt=old" } });
  const context = new RouterContextProvider();
  const renewedWith: Request[] = [];
  const middleware = sessionMiddleware({
    renew: async (seen) => {
      renewedWith.push(seen);
      return renewal;
    },
  });
  const response = await middleware(
    { request, context, params: {}, url: new URL(request.url), pattern: "/devices" } as Parameters<
      typeof middleware
    >[0],
    async () => route(request, context),
  );
  return { response: response as Response, request, renewedWith };
}

describe("React Router sessionMiddleware", () => {
  it("renews before the route runs: the session in the context, the new Cookie header on the request, the cookies on the response", async () => {
    let seenByRoute: { session: ServerSession | null; cookie: string | null } | null = null;
    const { response, renewedWith } = await run(
      {
        session: SESSION,
        setCookies: [NEW_ACCESS, NEW_REFRESH],
        requestCookie: "__Host-prolong-rt=new-refresh; __Host-prolong-at=new-access",
      },
      (request, context) => {
        seenByRoute = { session: context.get(sessionContext), cookie: request.headers.get("cookie") };
        return new Response("page", { headers: { "content-type": "text/html" } });
      },
    );
    expect(renewedWith).toHaveLength(1);
    expect(seenByRoute).toEqual({
      session: SESSION,
      cookie: "__Host-prolong-rt=new-refresh; __Host-prolong-at=new-access",
    });
    expect(response.headers.getSetCookie()).toEqual([NEW_ACCESS, NEW_REFRESH]);
    expect(response.headers.get("cache-control")).toBe("private, no-store");
    expect(await response.text()).toBe("page");
  });

  it("leaves a response alone when nothing was renewed and the route set no cookie", async () => {
    const page = new Response("page", { headers: { "cache-control": "public, max-age=60" } });
    const { response } = await run(
      { session: null, setCookies: [], requestCookie: null },
      (request, context) => {
        expect(context.get(sessionContext)).toBeNull();
        expect(request.headers.get("cookie")).toBe("__Host-prolong-rt=old");
        return page;
      },
    );
    expect(response).toBe(page);
    expect(response.headers.get("cache-control")).toBe("public, max-age=60");
  });

  it("marks a page rendered for a session private though no cookie changed: it is that user's page", async () => {
    const { response } = await run(
      { session: SESSION, setCookies: [], requestCookie: null },
      () => new Response("page", { headers: { "cache-control": "public, max-age=60" } }),
    );
    expect(response.headers.getSetCookie()).toEqual([]);
    expect(response.headers.get("cache-control")).toBe("private, no-store");
  });

  it("answers 503 without running the route when a renewal was due and prolong could not answer", async () => {
    let ran = false;
    const { response } = await run(
      { session: null, setCookies: [], requestCookie: null, unavailable: true },
      () => {
        ran = true;
        return new Response("login form");
      },
    );
    expect(ran).toBe(false);
    expect(response.status).toBe(503);
    expect(response.headers.getSetCookie()).toEqual([]);
  });

  it("lets the route's own cookies win (a sign-out after a renewal) and still keeps the answer private", async () => {
    const signedOut = new Response(null, {
      status: 303,
      headers: [
        ["location", "/login"],
        ["set-cookie", CLEAR_REFRESH],
        ["set-cookie", CLEAR_ACCESS],
      ],
    });
    const { response } = await run(
      {
        session: SESSION,
        setCookies: [NEW_ACCESS, NEW_REFRESH],
        requestCookie: "__Host-prolong-rt=new-refresh",
      },
      () => signedOut,
    );
    expect(response.headers.getSetCookie()).toEqual([CLEAR_REFRESH, CLEAR_ACCESS]);
    expect(response.headers.get("cache-control")).toBe("private, no-store");
  });

  it("marks a route's own Set-Cookie private even when the session was not renewed", async () => {
    const { response } = await run({ session: SESSION, setCookies: [], requestCookie: null }, () =>
      Response.json({ ok: true }, { headers: { "set-cookie": "theme=dark; Path=/" } }),
    );
    expect(response.headers.get("cache-control")).toBe("private, no-store");
  });

  it("copies a response whose headers cannot change, keeping its status, location and body", async () => {
    const { response } = await run(
      { session: null, setCookies: [CLEAR_REFRESH, CLEAR_ACCESS], requestCookie: "" },
      (request) => {
        // A cleared Cookie header: the browser will send neither cookie.
        expect(request.headers.get("cookie")).toBeNull();
        return Response.redirect("http://127.0.0.1/login", 302);
      },
    );
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe("http://127.0.0.1/login");
    expect(response.headers.getSetCookie()).toEqual([CLEAR_REFRESH, CLEAR_ACCESS]);
    expect(response.headers.get("cache-control")).toBe("private, no-store");
  });

  it("has no session to give a loader the middleware did not run for", () => {
    expect(() => new RouterContextProvider().get(sessionContext)).toThrow();
  });
});

import type { Renewal, ServerSession, ServerSessions } from "@prolong/ssr";
import { sessionMiddleware } from "@prolong/ssr/next";
import { NextRequest, NextResponse } from "next/server.js";
import { describe, expect, it } from "vitest";

/** A renewal as a test gives it: `unavailable` is false unless said. */
type Given = Omit<Renewal, "unavailable"> & { unavailable?: boolean };

// The adapter alone, over sessions whose renewal says what each test needs: what it makes
// of a renewal is all it decides (e2e/ssr-nextjs.test.ts runs it in a built Next app).

const SESSION: ServerSession = {
  subject: "user-42",
  sessionId: "s-1",
  claims: {} as ServerSession["claims"],
  expiresAt: 0,
  accessToken: "new-token",
};
const RENEWED = ["__Host-prolong-at=new-token; Path=/", "__Host-prolong-rt=new-refresh; Path=/"];
const CLEARED = ["__Host-prolong-rt=; Path=/; Max-Age=0", "__Host-prolong-at=; Path=/; Max-Age=0"];

/** Sessions whose every renewal answers `renewal`; counts the requests it saw. */
function sessionsRenewing(given: Given) {
  const renewal: Renewal = { unavailable: false, ...given };
  const seen: Request[] = [];
  const sessions: ServerSessions = {
    issuer: "https://app.example.test/auth",
    getSession: async () => renewal.session,
    renew: async (request) => {
      seen.push(request);
      return renewal;
    },
    signOut: async () => ({ setCookies: [] }),
    close: async () => {},
  };
  return { sessions, seen };
}

const page = (cookie: string, path = "/account") =>
  new NextRequest(`https://app.example.test${path}`, { headers: { cookie, accept: "text/html" } });

/** The request headers Next hands the render, as `NextResponse.next({ request })` passes them on. */
function renderHeaders(response: Response): Record<string, string> | null {
  const names = response.headers.get("x-middleware-override-headers");
  if (names === null) return null;
  return Object.fromEntries(
    names.split(",").map((name) => [name, response.headers.get(`x-middleware-request-${name}`) as string]),
  );
}

describe("sessionMiddleware", () => {
  it("renders with the renewed Cookie header and sends the new cookies, private and unstored", async () => {
    const { sessions, seen } = sessionsRenewing({
      session: SESSION,
      setCookies: RENEWED,
      requestCookie: "theme=dark; __Host-prolong-rt=new-refresh; __Host-prolong-at=new-token",
    });
    const request = page("theme=dark; __Host-prolong-rt=old-refresh");
    const response = await sessionMiddleware(sessions)(request);
    expect(seen).toEqual([request]);
    expect(response.headers.get("x-middleware-next")).toBe("1");
    expect(renderHeaders(response)).toMatchObject({
      cookie: "theme=dark; __Host-prolong-rt=new-refresh; __Host-prolong-at=new-token",
      accept: "text/html",
    });
    expect(response.headers.getSetCookie()).toEqual(RENEWED);
    expect(response.headers.get("cache-control")).toBe("private, no-store");
  });

  it("leaves a request with nothing to renew as it is (no cookies, no rewritten headers) but private, being that user's", async () => {
    const { sessions } = sessionsRenewing({ session: SESSION, setCookies: [], requestCookie: null });
    let refused = 0;
    const response = await sessionMiddleware(sessions, {
      signedOut: () => {
        refused++;
        return undefined;
      },
    })(page("__Host-prolong-at=fresh"));
    expect(response.headers.get("x-middleware-next")).toBe("1");
    expect(renderHeaders(response)).toBeNull();
    expect(response.headers.getSetCookie()).toEqual([]);
    expect(response.headers.get("cache-control")).toBe("private, no-store");
    expect(refused).toBe(0);
  });

  it("answers 503, not signedOut's login redirect, when a renewal was due and prolong could not answer", async () => {
    const { sessions } = sessionsRenewing({
      session: null,
      setCookies: [],
      requestCookie: null,
      unavailable: true,
    });
    let refused = 0;
    const response = await sessionMiddleware(sessions, {
      signedOut: () => {
        refused++;
        return NextResponse.redirect("https://app.example.test/login", 303);
      },
    })(page("__Host-prolong-rt=kept"));
    expect(response.status).toBe(503);
    expect(response.headers.getSetCookie()).toEqual([]);
    expect(refused).toBe(0);
  });

  it("answers a signed-out request with signedOut's redirect, carrying the cleared cookies", async () => {
    const { sessions } = sessionsRenewing({ session: null, setCookies: CLEARED, requestCookie: "" });
    const response = await sessionMiddleware(sessions, {
      signedOut: (request) => NextResponse.redirect(new URL("/login", request.url), 303),
    })(page("__Host-prolong-rt=revoked"));
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("https://app.example.test/login");
    expect(response.headers.get("x-middleware-next")).toBeNull();
    expect(response.headers.getSetCookie()).toEqual(CLEARED);
    expect(response.headers.get("cache-control")).toBe("private, no-store");
  });

  it("adds the cookies to a Response.redirect, whose headers are immutable", async () => {
    const { sessions } = sessionsRenewing({ session: null, setCookies: CLEARED, requestCookie: "" });
    const response = await sessionMiddleware(sessions, {
      signedOut: async () => Response.redirect("https://app.example.test/login", 307),
    })(page("__Host-prolong-rt=revoked"));
    expect(response.status).toBe(307);
    expect(response.headers.get("location")).toBe("https://app.example.test/login");
    expect(response.headers.getSetCookie()).toEqual(CLEARED);
    expect(response.headers.get("cache-control")).toBe("private, no-store");
  });

  it("renders a signed-out request signedOut lets through without the Cookie header the session ended with", async () => {
    const { sessions } = sessionsRenewing({ session: null, setCookies: CLEARED, requestCookie: "" });
    const response = await sessionMiddleware(sessions, { signedOut: () => undefined })(
      page("__Host-prolong-rt=revoked", "/about"),
    );
    expect(response.headers.get("x-middleware-next")).toBe("1");
    const headers = renderHeaders(response);
    expect(headers).toMatchObject({ accept: "text/html" });
    expect(headers).not.toHaveProperty("cookie");
    expect(response.headers.getSetCookie()).toEqual(CLEARED);
    expect(response.headers.get("cache-control")).toBe("private, no-store");
  });
});

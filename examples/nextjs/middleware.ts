// Runs before every page and API route, on Next's default Edge runtime: renews the access
// cookie when it is missing or due (past its `rfa`), so the render that follows is signed
// in, and sends signed-out visitors of protected pages to the login form. Edge code cannot
// load @prolong/server, so the sessions here reach prolong over HTTP, at the app's own
// /auth routes; the access token is verified with @prolong/verify's Web Crypto backend.
import { createServerSessions } from "@prolong/ssr";
import { sessionMiddleware } from "@prolong/ssr/next";
import { NextResponse } from "next/server";
import { issuer } from "./lib/issuer";
import { PROTECTED_PAGES } from "./lib/paths";

export const middleware = sessionMiddleware(createServerSessions({ issuer }), {
  signedOut(request) {
    const { pathname, search } = request.nextUrl;
    if (!PROTECTED_PAGES.includes(pathname)) return undefined;
    const login = new URL("/login", request.url);
    login.searchParams.set("next", `${pathname}${search}`);
    return NextResponse.redirect(login, 303);
  },
});

export const config = {
  // Not prolong's own routes (the middleware calls them) nor Next's static files.
  matcher: ["/((?!auth/|_next/static/|_next/image|favicon.ico).*)"],
};

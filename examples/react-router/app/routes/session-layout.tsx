// Every page and API route of the app sits under this layout, so its middleware runs
// before their loaders and actions: it renews the session when the access cookie is
// missing, expired or due for refresh, and adds the new cookies to the response.
import { CACHE_CONTROL_PRIVATE } from "@prolong/ssr";
import { sessionMiddleware } from "@prolong/ssr/react-router";
import { Outlet } from "react-router";
import { currentSession, sessions } from "../sessions.server";
import type { Route } from "./+types/session-layout";

/**
 * A response rendered for a signed-in user is theirs alone: no shared cache (a CDN, a
 * proxy) may keep it and hand it to the next visitor, cookies or not.
 */
const privateWhenSignedIn: Route.MiddlewareFunction = async ({ context }, next) => {
  const response = await next();
  if (currentSession(context) !== null) response.headers.set("cache-control", CACHE_CONTROL_PRIVATE);
  return response;
};

export const middleware: Route.MiddlewareFunction[] = [sessionMiddleware(sessions), privateWhenSignedIn];

export default function SessionLayout() {
  return <Outlet />;
}

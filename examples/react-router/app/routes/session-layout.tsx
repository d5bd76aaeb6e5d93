// Every page and API route of the app sits under this layout, so its middleware runs
// before their loaders and actions: it renews the session when the access cookie is
// missing, expired or due for refresh, adds the new cookies to the response, and marks
// every answer rendered for a signed-in user private, so no shared cache keeps it.
import { sessionMiddleware } from "@prolong/ssr/react-router";
import { Outlet } from "react-router";
import { sessions } from "../sessions.server";
import type { Route } from "./+types/session-layout";

export const middleware: Route.MiddlewareFunction[] = [sessionMiddleware(sessions)];

export default function SessionLayout() {
  return <Outlet />;
}

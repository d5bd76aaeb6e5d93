// The server's view of the browser's prolong cookies: reads the session from the access
// cookie, renews it with the refresh cookie (in-process, through prolong.fetch) before a
// page renders, and signs out.
import { createServerSessions, type ServerSession } from "@prolong/ssr";
import { sessionContext } from "@prolong/ssr/react-router";
import type { RouterContextProvider } from "react-router";
import { issuer, prolong } from "./prolong.server";

export const sessions = createServerSessions({ issuer, fetch: (request) => prolong.fetch(request) });

/** The session the layout's middleware found (and renewed) for this request, or `null`. */
export function currentSession(context: Readonly<RouterContextProvider>): ServerSession | null {
  return context.get(sessionContext);
}

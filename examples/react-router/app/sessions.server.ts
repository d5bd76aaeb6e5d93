// The server's view of the browser's prolong cookies: reads the session from the access
// cookie, renews it with the refresh cookie (in-process, through prolong.fetch) before a
// page renders, and signs out.
import { createServerSessions, type ServerSession } from "@prolong/ssr";
import { sessionContext } from "@prolong/ssr/react-router";
import type { RouterContextProvider } from "react-router";
import { issuer, prolong } from "./prolong.server";

const secret = process.env.PROLONG_RESOURCE_SECRET;

/**
 * With `PROLONG_RESOURCE_SECRET` set, the sessions' verifier subscribes to prolong's
 * revocation feed (docs/protocol.md, "Revocation feed"), in-process like every other call
 * here, so a session revoked from another device renders signed out within moments instead
 * of when its access token expires. Only a long-lived Node server like react-router-serve
 * can hold that stream open; edge and serverless runtimes cannot (docs/ssr.md, "Edge
 * runtimes and the revocation feed").
 */
export const sessions = createServerSessions({
  issuer,
  fetch: (request) => prolong.fetch(request),
  ...(secret ? { revocationFeed: { secret } } : {}),
});

// Closed with the process, so no stream or reconnect timer outlives the server.
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void sessions.close());

/** The session the layout's middleware found (and renewed) for this request, or `null`. */
export function currentSession(context: Readonly<RouterContextProvider>): ServerSession | null {
  return context.get(sessionContext);
}

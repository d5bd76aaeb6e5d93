// The server's view of the browser's prolong cookies: reads the session from the access
// cookie, renews it with the refresh cookie (in-process, through prolong.fetch) before a
// page renders, and signs out.
import { createServerSessions, type ServerSession } from "@prolong/ssr";
import { sessionContext } from "@prolong/ssr/react-router";
import { createRevocationFeed, createVerifier, type Verifier } from "@prolong/verify";
import type { RouterContextProvider } from "react-router";
import { issuer, prolong } from "./prolong.server";

/** prolong's routes, reached in-process: the JWKS and the feed never leave this process. */
const inProcess = ((input: RequestInfo | URL, init?: RequestInit) =>
  prolong.fetch(new Request(input, init))) as typeof fetch;

/**
 * With `PROLONG_RESOURCE_SECRET` set, the verifier subscribes to prolong's revocation feed
 * (docs/protocol.md, "Revocation feed"), so a session revoked from another device renders
 * signed out within a second or two instead of when its access token expires. Only a
 * long-lived Node server like react-router-serve can hold that stream open; edge and
 * serverless runtimes cannot (docs/ssr.md, "Edge runtimes and the revocation feed").
 */
async function feedVerifier(secret: string): Promise<Verifier> {
  const base = issuer.replace(/\/+$/, "");
  const feed = createRevocationFeed({
    url: `${base}/revocations/feed`,
    credentials: { secret },
    fetch: inProcess,
  });
  // Closed with the process, so no stream or reconnect timer outlives the server.
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void feed.close());
  return createVerifier({
    issuer: base,
    audience: "prolong",
    jwksUri: `${base}/.well-known/jwks.json`,
    jwks: { fetch: inProcess },
    cacheSize: 1000,
    revocations: feed,
  });
}

const secret = process.env.PROLONG_RESOURCE_SECRET;

export const sessions = createServerSessions({
  issuer,
  fetch: (request) => prolong.fetch(request),
  ...(secret ? { verifier: await feedVerifier(secret) } : {}),
});

/** The session the layout's middleware found (and renewed) for this request, or `null`. */
export function currentSession(context: Readonly<RouterContextProvider>): ServerSession | null {
  return context.get(sessionContext);
}

// Sessions as route handlers and server components see them: the access-token cookie,
// verified locally with prolong's public keys, fetched in-process (no HTTP round trip).
import { createServerSessions } from "@prolong/ssr";
import { getProlong, issuer } from "./prolong";

export const sessions = createServerSessions({
  issuer,
  fetch: async (request) => (await getProlong()).fetch(request),
});

/** prolong's own API (`GET /auth/sessions`, …) called in-process with the user's access token. */
export async function callProlong(
  accessToken: string,
  path: string,
  init: RequestInit = {},
): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${accessToken}`);
  const prolong = await getProlong();
  return prolong.fetch(new Request(`${issuer}${path}`, { ...init, headers }));
}

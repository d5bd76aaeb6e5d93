// A protected API route: JSON for the signed-in user, 401 otherwise. The middleware has
// renewed the session first, so a fetch that arrives as the access token expires succeeds.
import { currentSession } from "../sessions.server";
import { userById } from "../users.server";
import type { Route } from "./+types/api.me";

export function loader({ context }: Route.LoaderArgs) {
  const session = currentSession(context);
  if (!session) {
    return Response.json(
      { error: "unauthorized", error_description: "sign in first" },
      { status: 401, headers: { "cache-control": "no-store" } },
    );
  }
  const user = userById(session.subject);
  return Response.json(
    { id: session.subject, name: user?.name ?? null, session: session.sessionId },
    { headers: { "cache-control": "private, no-store" } },
  );
}

import { json } from "@sveltejs/kit";
import { userById } from "$lib/server/users";
import type { RequestHandler } from "./$types";

// A protected API route: JSON for the signed-in session, 401 without one.
export const GET: RequestHandler = ({ locals }) => {
  const session = locals.session;
  if (!session) return json({ error: "signed_out" }, { status: 401 });
  const user = userById(session.subject);
  return json({ id: session.subject, name: user?.name ?? null, session: session.sessionId });
};

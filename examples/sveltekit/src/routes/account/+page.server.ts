import { redirect } from "@sveltejs/kit";
import { userById } from "$lib/server/users";
import type { PageServerLoad } from "./$types";

// Protected: rendered on the server for the session hooks.server.ts found (and renewed).
export const load: PageServerLoad = ({ locals }) => {
  const session = locals.session;
  if (!session) redirect(303, "/login");
  return {
    user: userById(session.subject),
    sessionId: session.sessionId,
    expiresAt: new Date(session.expiresAt).toISOString(),
  };
};

// A protected API route: JSON for a signed-in user, 401 otherwise.
import { sessions } from "../../../lib/sessions";
import { userById } from "../../../lib/users";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export async function GET(request: Request): Promise<Response> {
  const session = await sessions.getSession(request);
  if (!session)
    return Response.json({ error: "signed_out" }, { status: 401, headers: { "cache-control": "no-store" } });
  const user = await userById(session.subject);
  return Response.json(
    { id: session.subject, name: user?.name ?? null, session: session.sessionId },
    { headers: { "cache-control": "private, no-store" } },
  );
}

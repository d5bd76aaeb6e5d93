// Signs another device out: prolong's `DELETE /auth/sessions/{id}` with this session's
// access token. That device's next server render is signed out once its access cookie,
// at most one access-token lifetime old, is renewed and refused.
import { cookies } from "next/headers";
import { callProlong, sessions } from "../../../lib/sessions";

export const runtime = "nodejs";

export async function POST(request: Request): Promise<Response> {
  const session = await sessions.getSession(await cookies());
  if (!session) return new Response(null, { status: 303, headers: { location: "/login?next=/devices" } });
  const id = (await request.formData()).get("id");
  if (typeof id === "string" && id) {
    const answer = await callProlong(session.accessToken, `/sessions/${encodeURIComponent(id)}`, {
      method: "DELETE",
    });
    if (!answer.ok && answer.status !== 404)
      throw new Error(`DELETE /auth/sessions answered ${answer.status}`);
  }
  return new Response(null, { status: 303, headers: { location: "/devices" } });
}

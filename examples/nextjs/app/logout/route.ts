// Sign-out, a form POST: prolong revokes the session's refresh token and both cookies are
// cleared. A cross-site form cannot do this for another site: SameSite=Lax cookies are not
// sent with a cross-site POST.
import { CACHE_CONTROL_PRIVATE } from "@prolong/ssr";
import { sessions } from "../../lib/sessions";

export const runtime = "nodejs";

export async function POST(request: Request): Promise<Response> {
  const { setCookies } = await sessions.signOut(request);
  const headers = new Headers({ location: "/login", "cache-control": CACHE_CONTROL_PRIVATE });
  for (const cookie of setCookies) headers.append("set-cookie", cookie);
  return new Response(null, { status: 303, headers });
}

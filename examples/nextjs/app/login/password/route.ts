// The login form's target: the app checks the password itself, then starts a prolong
// session for its own user id and redirects (303: the browser follows with a GET) with the
// session's cookies.
import { localPath } from "../../../lib/paths";
import { getProlong } from "../../../lib/prolong";
import { checkPassword } from "../../../lib/users";

export const runtime = "nodejs";

const redirect = (location: string, headers = new Headers()) => {
  headers.set("location", location);
  return new Response(null, { status: 303, headers });
};

export async function POST(request: Request): Promise<Response> {
  const form = await request.formData();
  const next = localPath(form.get("next"));
  const user = await checkPassword(form.get("username"), form.get("password"));
  if (!user) return redirect(`/login?error=1&next=${encodeURIComponent(next)}`);
  const device = form.get("device");
  const prolong = await getProlong();
  // Both cookies (the access token for server renders, the refresh token) and
  // `Cache-Control: private, no-store` come in `headers`.
  const { headers } = await prolong.startFetchSession(request, {
    subject: user.id,
    deviceName: typeof device === "string" && device.trim() ? device : null,
  });
  return redirect(next, headers);
}

// Sign-out as a form action: prolong revokes the refresh token (so the session ends on
// the server, not only in this browser) and the cookies are cleared.
import { redirect } from "react-router";
import { sessions } from "../sessions.server";
import type { Route } from "./+types/signout";

export async function action({ request }: Route.ActionArgs) {
  const { setCookies } = await sessions.signOut(request);
  const headers = new Headers();
  for (const cookie of setCookies) headers.append("set-cookie", cookie);
  return redirect("/login", { status: 303, headers });
}

// A GET of /signout signs nobody out (a link or a prefetch must not).
export function loader() {
  return redirect("/");
}

// A protected page, rendered on the server: its first HTML already shows the user. The
// middleware renewed the access cookie before this render if it needed to.
import { cookies } from "next/headers";
import Link from "next/link";
import { redirect } from "next/navigation";
import { sessions } from "../lib/sessions";
import { userById } from "../lib/users";

export const dynamic = "force-dynamic";

export default async function HomePage() {
  const session = await sessions.getSession(await cookies());
  if (!session) redirect("/login");
  const user = await userById(session.subject);
  return (
    <main>
      <h1>{`Hello, ${user?.name ?? session.subject}`}</h1>
      <p>
        Signed in as <code data-testid="subject">{session.subject}</code>, session{" "}
        <code data-testid="session">{session.sessionId}</code>; this page's access token expires at{" "}
        {new Date(session.expiresAt).toISOString()}.
      </p>
      <nav>
        <Link href="/devices">Your devices</Link> · <a href="/api/me">/api/me</a>
      </nav>
      <form method="post" action="/logout">
        <button type="submit">Sign out</button>
      </form>
    </main>
  );
}

// The protected page: rendered on the server for the signed-in user, or a redirect to
// the login form. The session comes from the layout's middleware, already renewed.
import { Form, Link, redirect } from "react-router";
import { currentSession } from "../sessions.server";
import { userById } from "../users.server";
import type { Route } from "./+types/home";

export function loader({ context }: Route.LoaderArgs) {
  const session = currentSession(context);
  if (!session) throw redirect("/login");
  const user = userById(session.subject);
  return { name: user?.name ?? session.subject, subject: session.subject, sessionId: session.sessionId };
}

export function meta() {
  return [{ title: "Home · prolong with React Router" }];
}

export default function Home({ loaderData }: Route.ComponentProps) {
  return (
    <main>
      <h1>
        Signed in as <span id="user">{loaderData.name}</span>
      </h1>
      <p>
        User <code id="subject">{loaderData.subject}</code>, session{" "}
        <code id="session">{loaderData.sessionId}</code>
      </p>
      <nav>
        <Link id="to-devices" to="/devices" prefetch="intent">
          Your devices
        </Link>{" "}
        <a href="/api/me">The API's answer</a>
      </nav>
      <Form method="post" action="/signout">
        <button id="signout" type="submit">
          Sign out
        </button>
      </Form>
    </main>
  );
}

// The app's own login: it checks the password itself, then starts a prolong session for
// its user id and redirects with prolong's cookies. A plain form POST, so it works with
// JavaScript off.
import { data, Form, redirect } from "react-router";
import { prolong } from "../prolong.server";
import { currentSession } from "../sessions.server";
import { checkPassword } from "../users.server";
import type { Route } from "./+types/login";

export function loader({ context }: Route.LoaderArgs) {
  if (currentSession(context)) throw redirect("/");
  return null;
}

export async function action({ request }: Route.ActionArgs) {
  const form = await request.formData();
  const user = await checkPassword(form.get("username"), form.get("password"));
  if (!user) return data({ error: "Wrong username or password" }, { status: 401 });
  const deviceName = form.get("deviceName");
  const { headers } = await prolong.startFetchSession(request, {
    subject: user.id,
    deviceName: typeof deviceName === "string" && deviceName.trim() !== "" ? deviceName : null,
  });
  // 303: the browser follows with a GET of the protected page, carrying the new cookies.
  return redirect("/", { status: 303, headers });
}

export function meta() {
  return [{ title: "Sign in · prolong with React Router" }];
}

export default function Login({ actionData }: Route.ComponentProps) {
  return (
    <main>
      <h1>Sign in</h1>
      {actionData?.error ? (
        <p id="login-error" role="alert">
          {actionData.error}
        </p>
      ) : null}
      <Form method="post" id="login">
        <label>
          Username <input name="username" autoComplete="username" required />
        </label>
        <label>
          Password <input name="password" type="password" autoComplete="current-password" required />
        </label>
        <label>
          This device <input name="deviceName" placeholder="Work laptop" />
        </label>
        <button type="submit">Sign in</button>
      </Form>
    </main>
  );
}

// The app's own login form: a plain form POST, so it works with JavaScript off.
import { localPath } from "../../lib/paths";

export const dynamic = "force-dynamic";

interface LoginProps {
  searchParams: Promise<{ next?: string; error?: string }>;
}

export default async function LoginPage({ searchParams }: LoginProps) {
  const { next, error } = await searchParams;
  return (
    <main>
      <h1>Sign in</h1>
      {error ? <p role="alert">Wrong username or password.</p> : null}
      <form method="post" action="/login/password">
        <input type="hidden" name="next" value={localPath(next)} />
        <p>
          <label>
            Username <input name="username" autoComplete="username" required />
          </label>
        </p>
        <p>
          <label>
            Password <input name="password" type="password" autoComplete="current-password" required />
          </label>
        </p>
        <p>
          <label>
            This device <input name="device" placeholder="e.g. work laptop" />
          </label>
        </p>
        <button type="submit">Sign in</button>
      </form>
      <p>
        Try <code>maryo</code> / <code>correct horse battery</code> or <code>ada</code> /{" "}
        <code>analytical engine</code>.
      </p>
    </main>
  );
}

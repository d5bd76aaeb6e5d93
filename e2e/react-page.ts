// The page e2e/react-browser.test.ts bundles and opens: a React app on its own origin,
// under Strict Mode, signing in to prolong through @prolong/react. It writes what it
// rendered to `window.rendered` for the test to read.
import { createSessionClient } from "@prolong/client";
import { ProlongProvider, useSession } from "@prolong/react";
import { type FormEvent, createElement as h, StrictMode, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";

const query = new URLSearchParams(location.search);
const issuer = query.get("issuer") as string;
// One renewal per token lifetime, a second before it ends: easy to count.
const options = { issuer, lead: 1, jitter: 0 };
// `?client=ready`: the app makes the client itself and hands it over; otherwise the provider makes it.
const ready = query.get("client") === "ready" ? createSessionClient(options) : null;

/** Every status the app committed, in order, and every access token (its `jti`) it showed. */
const rendered = { statuses: [] as string[], tokens: [] as string[] };
window.rendered = rendered;

function App() {
  const { status, claims, fetch, signIn, signOut } = useSession();
  const [answer, setAnswer] = useState("");
  const [failure, setFailure] = useState("");
  useEffect(() => {
    rendered.statuses.push(status);
  }, [status]);
  useEffect(() => {
    const jti = claims?.jti as string | undefined;
    if (jti && !rendered.tokens.includes(jti)) rendered.tokens.push(jti);
  }, [claims]);

  if (status === "loading") return h("output", { id: "status" }, "loading");
  if (status === "signedOut") {
    const submit = (event: FormEvent<HTMLFormElement>) => {
      event.preventDefault();
      const password = new FormData(event.currentTarget).get("password") as string;
      signIn({ username: "demo", password, deviceName: "React page" }).catch((error: Error) =>
        setFailure(error.message),
      );
    };
    return h(
      "form",
      { id: "signin", onSubmit: submit },
      h("output", { id: "status" }, "signedOut"),
      h("input", { name: "password", type: "password" }),
      h("button", { type: "submit" }, "Sign in"),
      h("p", { id: "failure" }, failure),
    );
  }
  const call = async () => {
    const response = await fetch(`${issuer}/sessions`);
    const body = (await response.json()) as { sessions: { device_name: string }[] };
    setAnswer(`${response.status} ${body.sessions.map((s) => s.device_name).join(", ")}`);
  };
  return h(
    "section",
    null,
    h("output", { id: "status" }, "signedIn"),
    h("span", { id: "sub" }, String(claims?.sub)),
    h("button", { id: "call", type: "button", onClick: () => void call() }, "Call the API"),
    h("pre", { id: "answer" }, answer),
    h("button", { id: "signout", type: "button", onClick: () => void signOut() }, "Sign out"),
  );
}

/** The provider, and a button that removes it (and puts it back) as navigating away would. */
function Shell() {
  const [mounted, setMounted] = useState(true);
  return h(
    "main",
    null,
    h(
      "button",
      { id: "toggle", type: "button", onClick: () => setMounted((m) => !m) },
      mounted ? "Unmount" : "Mount",
    ),
    mounted ? h(ProlongProvider, ready ? { client: ready } : { options }, h(App)) : null,
  );
}

createRoot(document.getElementById("root") as HTMLElement).render(h(StrictMode, null, h(Shell)));

declare global {
  interface Window {
    rendered: { statuses: string[]; tokens: string[] };
  }
}

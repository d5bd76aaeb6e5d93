import { sessionHandle } from "@prolong/ssr/sveltekit";
import { sessions } from "$lib/server/sessions";

// Every request but prolong's own routes: renew the session if it is due, before the
// route renders; the route reads it from event.locals.session.
export const handle = sessionHandle({
  sessions,
  skip: (event) => event.url.pathname === "/auth" || event.url.pathname.startsWith("/auth/"),
});

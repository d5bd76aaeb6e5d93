import { sessionHandle } from "@prolong/ssr/sveltekit";
import { sessions } from "$lib/server/sessions";

// Every request: renew the session if it is due, before the route renders (prolong's own
// routes under /auth are left alone); the route reads it from event.locals.session.
export const handle = sessionHandle({ sessions });

// prolong's routes (token endpoint, sessions, JWKS, …) at the issuer's path, answered by
// prolong itself: the Request goes in unread, its URL unchanged.
import type { RequestHandler } from "@sveltejs/kit";
import { prolong } from "$lib/server/prolong";

const serve: RequestHandler = async ({ request, getClientAddress }) =>
  (await prolong()).fetch(request, { clientAddress: getClientAddress() });

// GET (and HEAD, which SvelteKit answers from it) and every other method prolong knows.
export const GET = serve;
export const fallback = serve;

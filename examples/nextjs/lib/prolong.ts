// prolong itself, built once per server process from the environment. Only route handlers
// and server components import this (the Node runtime); the middleware reaches prolong
// over HTTP instead (middleware.ts).
import { createProlong, type Prolong } from "@prolong/server";

import { issuer } from "./issuer";

export { issuer };

/** The web profile's settings the environment gives, in seconds; the others keep prolong's defaults. */
function webProfile() {
  const profile: { accessTokenTtl?: number; graceWindow?: number } = {};
  if (process.env.PROLONG_ACCESS_TOKEN_TTL)
    profile.accessTokenTtl = Number(process.env.PROLONG_ACCESS_TOKEN_TTL);
  if (process.env.PROLONG_GRACE_WINDOW) profile.graceWindow = Number(process.env.PROLONG_GRACE_WINDOW);
  return profile;
}

function create(): Promise<Prolong> {
  return createProlong({
    issuer,
    store: process.env.PROLONG_STORE ?? "sqlite:./data/nextjs.db",
    // Server renders read the access token from a cookie of its own, sent with every page request.
    cookies: { access: true },
    profiles: { web: webProfile() },
    ...(process.env.PROLONG_ADMIN_TOKEN ? { adminToken: process.env.PROLONG_ADMIN_TOKEN } : {}),
    logLevel: "warn",
  });
}

// One instance per process, kept on globalThis: every route bundle that imports this module
// shares it (and `next dev` does not open the store again on each reload). Built on first
// use, not on import: `next build` loads the routes to learn about them and opens no store.
const held = globalThis as typeof globalThis & { prolong?: Promise<Prolong> };

/** prolong, created on first use. */
export function getProlong(): Promise<Prolong> {
  // A failed start (the store's folder missing, say) is tried again at the next request.
  held.prolong ??= create().catch((error: unknown) => {
    held.prolong = undefined;
    throw error;
  });
  return held.prolong;
}

// prolong for this app: one instance per server process, its routes served under /auth
// (src/routes/auth/[...prolong]/+server.ts), its SQLite file in the data dir the
// environment names.
import { createProlong, type Prolong } from "@prolong/server";
import { env } from "$env/dynamic/private";

/** The issuer: the app's public origin plus /auth, the URL every token's `iss` names. */
export const issuer = env.PROLONG_ISSUER || `${env.ORIGIN || "http://localhost:3000"}/auth`;

let started: Promise<Prolong> | null = null;

/**
 * prolong, created on first use rather than at import: `vite build` imports the server
 * modules to analyse the routes, and must not open the store.
 */
export function prolong(): Promise<Prolong> {
  started ??= createProlong({
    issuer,
    store: env.PROLONG_STORE || "sqlite:./data/sveltekit.db",
    profiles: {
      web: {
        // Seconds; the tests use 5 to cross renewals quickly.
        accessTokenTtl: Number(env.ACCESS_TOKEN_TTL || 300),
        // How long a replaced refresh cookie is still answered (a request that left before
        // the browser had its successor) instead of counting as reuse.
        ...(env.GRACE_WINDOW ? { graceWindow: Number(env.GRACE_WINDOW) } : {}),
      },
    },
    // Both tokens in httpOnly cookies on `/`, so a server render knows the session.
    cookies: { access: true },
    logLevel: "warn",
  });
  return started;
}

// adapter-node emits this once the server has stopped taking requests (SIGTERM, SIGINT).
process.once("sveltekit:shutdown", async () => {
  if (started) await (await started).close();
});

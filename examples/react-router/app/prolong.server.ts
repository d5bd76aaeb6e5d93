// prolong, created once per server process. Its routes are served by routes/auth.$.ts;
// the login, the device list and the sign-out call it in-process.
import { createProlong } from "@prolong/server";

/** Where prolong lives: the tokens' `iss`, and the path its routes are mounted on. */
export const issuer = process.env.PROLONG_ISSUER ?? `http://localhost:${process.env.PORT ?? 3000}/auth`;

/** A whole number of seconds from the environment, or the default. */
function seconds(name: string, fallback: number): number {
  const value = process.env[name];
  return value === undefined ? fallback : Number(value);
}

export const prolong = await createProlong({
  issuer,
  store: process.env.PROLONG_STORE ?? "sqlite:./data/react-router.db",
  // Server-rendered pages read the access token from its own cookie; the refresh cookie
  // moves to `/` so the server can renew before rendering.
  cookies: { access: true },
  profiles: {
    web: {
      accessTokenTtl: seconds("ACCESS_TOKEN_TTL", 300),
      graceWindow: seconds("GRACE_WINDOW", 30),
    },
  },
  // The admin API (`/auth/admin/*`) only when a token is given.
  ...(process.env.PROLONG_ADMIN_TOKEN ? { adminToken: process.env.PROLONG_ADMIN_TOKEN } : {}),
  // The secret the server's own verifier presents to the revocation feed (sessions.server.ts);
  // without it the feed stays unsubscribed and a revocation reaches renders at `exp`.
  ...(process.env.PROLONG_RESOURCE_SECRET ? { resourceSecret: process.env.PROLONG_RESOURCE_SECRET } : {}),
  logLevel: "warn",
});

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void prolong.close().finally(() => process.exit(0));
  });
}

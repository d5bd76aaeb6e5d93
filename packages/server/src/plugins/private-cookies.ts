import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";

/**
 * Every answer that sets a cookie (a session's, a device token's, or one clearing them)
 * is `Cache-Control: private, no-store`, whatever its route said: a shared cache that
 * kept it would hand one user's session to the next (docs/ssr.md, "Behind a CDN").
 * One hook rather than a header per route, so a route added later cannot forget it.
 */
export const privateCookies = fp(
  async (app: FastifyInstance) => {
    app.addHook("onSend", (_request, reply, payload, done) => {
      if (reply.hasHeader("set-cookie")) reply.header("cache-control", "private, no-store");
      done(null, payload);
    });
  },
  { name: "prolong-private-cookies", fastify: "5.x" },
);

import type { FastifyInstance } from "fastify";
import type { AppContext } from "../context.js";
import { Cors } from "../cors.js";
import { adminRoutes } from "../routes/admin.js";
import { dbscRoutes } from "../routes/dbsc.js";
import { demoRoutes } from "../routes/demo.js";
import { feedRoutes } from "../routes/feed.js";
import { healthRoutes } from "../routes/health.js";
import { loginRoutes } from "../routes/login.js";
import { oauthRoutes } from "../routes/oauth.js";
import { sessionRoutes } from "../routes/sessions.js";
import { wellKnownRoutes } from "../routes/well-known.js";

export interface RoutesOptions {
  ctx: AppContext;
}

/**
 * prolong's endpoints, each module a plugin of its own over the shared services, with
 * CORS on the browser-facing ones and their preflights registered after them (they are
 * built from the routes seen). The demo's routes only in demo mode.
 */
export async function routes(app: FastifyInstance, { ctx }: RoutesOptions): Promise<void> {
  const cors = new Cors(ctx.config.allowedOrigins, app.prefix);
  app.addHook("onRoute", cors.onRoute);
  await app.register(wellKnownRoutes(ctx));
  await app.register(loginRoutes(ctx));
  await app.register(oauthRoutes(ctx));
  await app.register(dbscRoutes(ctx));
  await app.register(sessionRoutes(ctx));
  await app.register(feedRoutes(ctx));
  await app.register(adminRoutes(ctx));
  await app.register(healthRoutes(ctx));
  if (ctx.config.demo) await app.register(demoRoutes(ctx));
  cors.registerPreflights(app);
}

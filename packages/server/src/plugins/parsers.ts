import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { parseJsonBody } from "../request-body.js";
import { addRouteHook, contentTypeCheck } from "../route-hooks.js";

/** Body size cap: the largest legitimate request (a login) is a few hundred bytes. */
export const BODY_LIMIT = 16 * 1024;

/**
 * What prolong's routes read a body with: JSON and form parsers of its own (strict: a
 * repeated form field is refused, JSON through `parseJsonBody`), its body limit, and a
 * 415 for a media type a route does not take (its `config.accepts`). Shares them with
 * prolong's scope (fastify-plugin), and must come before the routes it applies to.
 */
export const parsers = fp(
  async (app: FastifyInstance) => {
    // A host's Fastify has its own body limit; prolong's routes keep prolong's.
    app.addHook("onRoute", (route) => {
      route.bodyLimit ??= BODY_LIMIT;
      const accepts = route.config?.accepts;
      if (accepts)
        addRouteHook(route, "preValidation", contentTypeCheck(accepts, route.config?.oauth === true));
    });

    // Ours replace whatever parsers of these types the host set, in prolong's scope only.
    app.removeContentTypeParser(["application/json", "application/x-www-form-urlencoded"]);
    app.addContentTypeParser("application/json", { parseAs: "string" }, (_request, body, done) => {
      try {
        done(null, parseJsonBody(body as string));
      } catch (error) {
        done(error as Error, undefined);
      }
    });
    app.addContentTypeParser(
      "application/x-www-form-urlencoded",
      { parseAs: "string" },
      (_request, body, done) => {
        const out: Record<string, string> = {};
        for (const [key, value] of new URLSearchParams(body as string)) {
          if (Object.hasOwn(out, key)) {
            done(
              Object.assign(new Error(`parameter "${key}" is repeated`), {
                statusCode: 400,
                code: "invalid_request",
              }),
            );
            return;
          }
          out[key] = value;
        }
        done(null, out);
      },
    );
  },
  { name: "prolong-parsers", fastify: "5.x" },
);

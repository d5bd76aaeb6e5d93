import type { FastifyReply, FastifyRequest, RouteOptions } from "fastify";
import { sendErrorCode, sendOAuthError } from "./http-errors.js";

type LifecycleHook = "onRequest" | "preValidation" | "onResponse";

/**
 * Adds `hook` to one route, for `onRoute`: a hook that matters for some routes costs
 * nothing on the others, where an app-wide hook runs on every request. A new array
 * each time, because Fastify copies a GET route's options for its HEAD twin before
 * `onRoute` runs, and the twin gets its own call.
 */
export function addRouteHook(
  route: RouteOptions,
  name: LifecycleHook,
  hook: (request: FastifyRequest, reply: FastifyReply, done: () => void) => void,
): void {
  const existing = route[name] as unknown;
  const hooks = existing === undefined ? [] : Array.isArray(existing) ? existing : [existing];
  (route as Record<LifecycleHook, unknown>)[name] = [...hooks, hook];
}

/** The media type of a `Content-Type` value: no parameters, lower case (RFC 9110 §8.3.1). */
export function mediaTypeOf(contentType: string | undefined): string {
  if (contentType === undefined) return "";
  const end = contentType.indexOf(";");
  return (end === -1 ? contentType : contentType.slice(0, end)).trim().toLowerCase();
}

/**
 * The `preValidation` hook of a route that takes only the media types `accepts`: any
 * other body is 415, in the OAuth error shape on the OAuth endpoints (RFC 6749 §5.2).
 * Synchronous, so the check costs no promise on the request's path.
 */
export function contentTypeCheck(accepts: readonly string[], oauth: boolean) {
  const message = `content type must be ${accepts.join(" or ")}`;
  return (request: FastifyRequest, reply: FastifyReply, done: () => void): void => {
    if (request.body === undefined || accepts.includes(mediaTypeOf(request.headers["content-type"]))) {
      done();
      return;
    }
    // Answered here: the route's handler never runs, so `done` is not called.
    if (oauth) sendOAuthError(reply, 415, "invalid_request", message);
    else sendErrorCode(reply, "unsupported_media_type", message);
  };
}

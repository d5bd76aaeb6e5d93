import { isProlongError } from "@prolong/core";
import type { ErrorCode } from "@prolong/protocol";
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { sendErrorCode, sendOAuthError, sendUnavailable } from "../http-errors.js";

/**
 * How prolong answers what its routes did not: an unusable store is 503 with
 * `Retry-After`, a framework error (a bad body, too large, a media type) its status with
 * a stable code, anything else a 500 that names nothing; the OAuth endpoints in the RFC
 * 6749 §5.2 shape. An unknown path is `not_found`. Set on prolong's scope (fastify-plugin),
 * never on a host's.
 */
export const errors = fp(
  async (app: FastifyInstance) => {
    app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
      // Whatever route met it: an unusable store is 503 + Retry-After, never a 500 or a 4xx.
      if (isProlongError(error, "store_unavailable")) {
        request.log.warn({ err: error }, "store unavailable");
        return sendUnavailable(reply, request.routeOptions.config?.oauth === true);
      }
      const status =
        error.statusCode && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
      if (status >= 500) request.log.error({ err: error }, "request failed");
      const code: ErrorCode =
        status === 413 ? "payload_too_large" : status === 415 ? "unsupported_media_type" : "invalid_request";
      const message = status >= 500 ? "internal error" : error.message;
      if (request.routeOptions.config?.oauth) {
        return sendOAuthError(reply, status, status >= 500 ? "server_error" : "invalid_request", message);
      }
      return sendErrorCode(reply, status >= 500 ? "internal_error" : code, message, status);
    });
    app.setNotFoundHandler((request, reply) =>
      sendErrorCode(reply, "not_found", `no route ${request.method} ${request.url.split("?")[0]}`),
    );
  },
  { name: "prolong-errors", fastify: "5.x" },
);

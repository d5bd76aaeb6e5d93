import { type FastifyReply, type FastifyRequest, LogController } from "fastify";

/**
 * Fastify's two lines per request ("incoming request", "request completed") at `debug`
 * instead of `info`. At the default level they were two JSON lines on stdout for every
 * refresh, a sixth of the server's CPU per refresh (bench/refresh-http.mjs). What
 * operators need at `info` stays there: start-up, warnings and errors, a request that
 * failed ("request errored", at `error`); request counts and latencies are in the
 * metrics. `PROLONG_LOG_LEVEL=debug` brings the per-request lines back.
 */
export class RequestLog extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    if (this.isLogDisabled(request)) return;
    request.log.debug({ req: request }, "incoming request");
  }

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    if (error) {
      super.requestCompleted(error, request, reply);
      return;
    }
    if (this.isLogDisabled(request)) return;
    reply.log.debug({ res: reply, responseTime: reply.elapsedTime }, "request completed");
  }
}

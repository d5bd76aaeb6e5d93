import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import type { RevocationPublisher } from "../feed.js";

export interface LifecycleOptions {
  feed: RevocationPublisher;
}

/**
 * Graceful shutdown: once the instance starts closing, the revocation feed ends its
 * streams, and requests still in flight finish but answer `Connection: close`, so their
 * keep-alive connections do not hold the server open afterwards. Hooks prolong's scope
 * (fastify-plugin).
 */
export const lifecycle = fp<LifecycleOptions>(
  async (app: FastifyInstance, { feed }) => {
    let closing = false;
    app.addHook("preClose", async () => {
      closing = true;
      feed.close();
    });
    app.addHook("onSend", (_request, reply, payload, done) => {
      if (closing) reply.header("connection", "close");
      done(null, payload);
    });
  },
  { name: "prolong-lifecycle", fastify: "5.x" },
);

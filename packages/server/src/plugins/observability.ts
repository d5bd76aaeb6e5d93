import type { SessionEngine } from "@prolong/core";
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import type { Metrics } from "../metrics.js";
import { addRouteHook } from "../route-hooks.js";

export interface ObservabilityOptions {
  engine: SessionEngine;
  metrics: Metrics;
}

/**
 * Metrics and failure logs: the engine's events counted, a failing event listener logged
 * and counted, and every request's latency by route template. Hooks prolong's scope
 * (fastify-plugin), so it must come before the routes it measures; stops listening to
 * the engine when the scope closes.
 */
export const observability = fp<ObservabilityOptions>(
  async (app: FastifyInstance, { engine, metrics }) => {
    const unsubscribe = engine.subscribe((event) => metrics.observe(event));
    // A listener's failure (the security-event log's write among them) never fails the
    // request that caused the event, but it is never silent either (engine/events.ts).
    const unreport = engine.onListenerFailure((err, event) => {
      metrics.listenerFailures.inc({ event: event.type });
      app.log.error({ err, event: event.type }, "engine event listener failed");
    });
    app.addHook("onClose", async () => {
      unsubscribe();
      unreport();
    });

    // Per route, so the hook knows its route without asking Fastify on every request
    // (`request.routeOptions` builds an object each time). Latency by route template,
    // never the raw URL (unbounded label values).
    app.addHook("onRoute", (route) => {
      const label = route.url;
      addRouteHook(route, "onResponse", (request, reply, done) => {
        metrics.observeRequest(request.method, label, reply.statusCode, reply.elapsedTime / 1000);
        done();
      });
    });
    // Requests no route matched count as "unknown".
    app.addHook("onResponse", (request, reply, done) => {
      if (request.is404)
        metrics.observeRequest(request.method, "unknown", reply.statusCode, reply.elapsedTime / 1000);
      done();
    });
  },
  { name: "prolong-observability", fastify: "5.x" },
);

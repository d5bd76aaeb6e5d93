import type { EngineEvent } from "@prolong/core";
import { Counter, Histogram, Registry } from "prom-client";

/** Prometheus metrics of one app; a registry of its own so several apps can live in one process. */
export class Metrics {
  readonly registry = new Registry();
  readonly refreshes = new Counter({
    name: "prolong_refreshes_total",
    help: "Refresh-token grants, by outcome",
    labelNames: ["outcome"],
    registers: [this.registry],
  });
  readonly reuse = new Counter({
    name: "prolong_reuse_detections_total",
    help: "Rotated refresh tokens presented again outside the grace window",
    registers: [this.registry],
  });
  readonly revocations = new Counter({
    name: "prolong_revocations_total",
    help: "Sessions revoked, by reason",
    labelNames: ["reason"],
    registers: [this.registry],
  });
  readonly signIns = new Counter({
    name: "prolong_sign_ins_total",
    help: "Sign-in attempts, by outcome",
    labelNames: ["outcome"],
    registers: [this.registry],
  });
  readonly listenerFailures = new Counter({
    name: "prolong_event_listener_failures_total",
    help: "Engine event listeners that failed (a security-event write included), by event",
    labelNames: ["event"],
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: "prolong_http_request_duration_seconds",
    help: "Request latency by route",
    labelNames: ["method", "route", "status"],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  /** `latency` per label set, so each request skips prom-client's label lookup. */
  readonly #latencyOf = new Map<string, Histogram.Internal<"method" | "route" | "status">>();

  /**
   * Records one answered request. `route` is the route's template (or "unknown"), so the
   * label sets stay few: routes × methods × statuses.
   */
  observeRequest(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${status} ${route}`;
    let child = this.#latencyOf.get(key);
    if (!child) {
      child = this.latency.labels({ method, route, status: String(status) });
      this.#latencyOf.set(key, child);
    }
    child.observe(seconds);
  }

  /** Counts what the engine reports, so the numbers hold whichever route caused them. */
  observe(event: EngineEvent): void {
    switch (event.type) {
      case "refreshed":
        this.refreshes.inc({
          outcome: event.straggler ? "straggler" : event.replayed ? "replayed" : "rotated",
        });
        break;
      case "reuse_detected":
        this.reuse.inc();
        break;
      case "session_revoked":
        this.revocations.inc({ reason: event.reason });
        break;
      // An eviction is a revocation too (reason `evicted`), reported as its own event.
      case "session_evicted":
        this.revocations.inc({ reason: "evicted" });
        break;
      case "signed_in":
        this.signIns.inc({ outcome: "success" });
        break;
      case "sign_in_failed":
        this.signIns.inc({ outcome: "failure" });
        break;
    }
  }
}

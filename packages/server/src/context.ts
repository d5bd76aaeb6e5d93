import type { SessionEngine } from "@prolong/core";
import type { ZodType } from "zod";
import type { ServerConfig } from "./config.js";
import type { SessionBinding } from "./dbsc/session-binding.js";
import type { DeviceCookie, DeviceTokens } from "./device-tokens.js";
import type { DpopProofs } from "./dpop.js";
import type { RevocationPublisher } from "./feed.js";
import type { Limits } from "./limits.js";
import type { Metrics } from "./metrics.js";
import type { SessionCookies } from "./session-cookies.js";

/** What every route module gets: the engine and the app's shared services. */
export interface AppContext {
  engine: SessionEngine;
  config: ServerConfig;
  metrics: Metrics;
  limits: Limits;
  feed: RevocationPublisher;
  /** Origins allowed on cookie-authenticated requests: the issuer's plus the configured ones. */
  origins: ReadonlySet<string>;
  /** Credential of resource servers (introspection, revocation feed). */
  resourceSecret: string;
  /** Folder of the built demo page, or `null` when the demo (or its page) is off. */
  publicDir: string | null;
  /** The cookies of web clients: the refresh cookie, and the access cookie if on (session-cookies.ts). */
  cookies: SessionCookies;
  /** Proofs of an earlier sign-in, which spare a client other clients' limits (limits.ts). */
  deviceTokens: DeviceTokens;
  /** Where browsers keep their device tokens (device-tokens.ts). */
  deviceCookie: DeviceCookie;
  /** DBSC's challenges, bound cookies and session configuration (dbsc/session-binding.ts). */
  binding: SessionBinding;
  /** Reads and checks the DPoP proofs of sign-in, token and revocation requests (dpop.ts). */
  dpop: DpopProofs;
}

declare module "fastify" {
  interface FastifyContextConfig {
    /** Media types the route accepts; anything else is 415. */
    accepts?: readonly string[];
    /** Answer errors in the RFC 6749 §5.2 shape. */
    oauth?: boolean;
    /**
     * The query parameters an admin route takes, parsed into `request.query` before its
     * handler runs; without it the route takes none (routes/admin.ts).
     */
    query?: ZodType;
  }
}

import { Readable } from "node:stream";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";
import type { FastifyInstance } from "fastify";
import type { Response as InjectedResponse, InjectOptions } from "light-my-request";
import { hostClientAddress } from "./client-address.js";
import { isUnderMountPath, mountedElsewhere } from "./mount-path.js";

/** What a Fetch-API host knows about a request besides the `Request` itself. */
export interface FetchOptions {
  /**
   * The client's IP address (Next's `request.ip` or `x-forwarded-for` as its platform
   * sets it, SvelteKit's `getClientAddress()`, Bun's `server.requestIP(request)`, Deno's
   * `info.remoteAddr.hostname`, Hono's `getConnInfo(c)`): the peer prolong's `trustProxy`
   * starts from. Without it the peer is `unknown` (RFC 7239 §6.3): prolong takes the
   * client's address from `X-Forwarded-For` only when `trustProxy` is a hop count, and
   * otherwise every such client shares one per-address rate limit.
   */
  clientAddress?: string | null | undefined;
}

/** prolong's routes as a Fetch-API handler: a `Request` in, a `Response` out. */
export type FetchHandler = (request: Request, options?: FetchOptions) => Promise<Response>;

/** The peer of a request whose host did not say (RFC 7239 §6.3's identifier for an unknown node). */
export const UNKNOWN_PEER = "unknown";

/**
 * Headers of one connection, not of the answer (RFC 9110 §7.6.1): the host's server
 * frames its own connection, and HTTP/2 forbids them (RFC 9113 §8.2.2).
 */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"]);

/** Statuses whose answer has no body (RFC 9110 §15.2, §15.3.5, §15.4.5): a `Response` refuses one. */
const NO_BODY = new Set([101, 103, 204, 205, 304]);

/** The request's body as a Node stream, read by Fastify under its body limit; none for a body-less request. */
function bodyOf(request: Request): Readable | undefined {
  if (request.body === null) return undefined;
  if (request.bodyUsed) {
    // The bytes are gone; a host's mistake, not the client's.
    throw new Error(
      "the request body was read before prolong's handler; hand prolong.fetch the Request unread (or request.clone())",
    );
  }
  return Readable.fromWeb(request.body as NodeReadableStream<Uint8Array>);
}

/**
 * The answer as a Fetch `Response`. Every header value is appended, so several
 * `Set-Cookie`s stay several. The body streams as Fastify writes it: a long-lived answer
 * (the revocation feed) reaches the client event by event, and when the host cancels the
 * body or aborts the request (its client went away) the answer inside is destroyed, as a
 * closed socket would destroy it, so the feed lets go of its subscriber.
 */
function responseOf(request: Request, injected: InjectedResponse): Response {
  const headers = new Headers();
  for (const [name, value] of Object.entries(injected.headers)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    for (const item of [value].flat()) headers.append(name, String(item));
  }
  const stream = injected.stream();
  const answer = injected.raw.res;
  const abort = () => stream.destroy();
  request.signal?.addEventListener("abort", abort, { once: true });
  stream.once("close", () => {
    request.signal?.removeEventListener("abort", abort);
    answer.destroy();
  });
  if (request.method === "HEAD" || NO_BODY.has(injected.statusCode)) {
    stream.destroy();
    return new Response(null, { status: injected.statusCode, headers });
  }
  return new Response(webStreamOf(stream), { status: injected.statusCode, headers });
}

/**
 * The answer's Node stream as a web stream. Not `Readable.toWeb`: on Node 20 a host that
 * cancels the body (reads the status and drops the rest, or its client went away) makes
 * it close a closed controller, an error thrown where nobody can catch it. Backpressure:
 * the Node stream pauses while the web stream's queue is full.
 */
function webStreamOf(stream: Readable): ReadableStream<Uint8Array> {
  let settled = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const settle = (end: () => void) => {
        if (settled) return;
        settled = true;
        end();
      };
      stream.on("data", (chunk: Buffer) => {
        if (settled) return;
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        if ((controller.desiredSize ?? 1) <= 0) stream.pause();
      });
      stream.once("end", () => settle(() => controller.close()));
      stream.once("error", (error) => settle(() => controller.error(error)));
      // Destroyed before its end (the request aborted): the reader learns it was cut short.
      stream.once("close", () => settle(() => controller.error(new Error("the answer was cut short"))));
    },
    pull() {
      stream.resume();
    },
    cancel() {
      settled = true;
      stream.destroy();
    },
  });
}

/**
 * Serves prolong's routes to a Fetch-API host (Next.js route handlers, SvelteKit
 * endpoints, React Router resource routes, Hono, Bun, Deno): each `Request` is dispatched
 * into prolong's own Fastify instance, the one the Express handler uses, through
 * Fastify's `inject()` (no socket), by its URL unchanged, and the answer comes back as a
 * `Response`. Node APIs throughout: the handler runs on Node (and Bun, Deno's Node
 * compatibility), not on edge runtimes; there the verifier is the part that runs.
 *
 * The request must be for the issuer's path or a path under it: a host that routes other
 * paths here (a catch-all route in the wrong folder, a mount that strips its prefix) gets
 * an `invalid_config` error thrown, as the Express handler reports a wrong mount.
 */
export function fetchHandler(mountPath: string, build: () => Promise<FastifyInstance>): FetchHandler {
  return async (request, options = {}) => {
    const url = new URL(request.url);
    if (!isUnderMountPath(url.pathname, mountPath)) {
      throw mountedElsewhere(
        `a route given ${url.pathname}`,
        mountPath,
        `route ${mountPath || "/"} and the paths under it to prolong.fetch with the request's URL unchanged`,
      );
    }
    const remoteAddress = hostClientAddress(options.clientAddress, "prolong.fetch: clientAddress");
    const payload = bodyOf(request);
    const app = await build();
    const injected = await app.inject({
      method: request.method as InjectOptions["method"],
      url: `${url.pathname}${url.search}`,
      // The Host the client asked for, or the URL's when the host's Request has none.
      authority: url.host,
      headers: Object.fromEntries(request.headers),
      ...(payload ? { payload } : {}),
      remoteAddress: remoteAddress ?? UNKNOWN_PEER,
      payloadAsStream: true,
    });
    return responseOf(request, injected);
  };
}

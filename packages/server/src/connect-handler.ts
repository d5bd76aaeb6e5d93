import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import type { ProlongError } from "@prolong/core";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { isUnderMountPath, mountedElsewhere as wrongMount } from "./mount-path.js";

/** A request as Express (or Connect) passes it on: the path it was mounted at, a body its parsers read. */
export type HostRequest = IncomingMessage & { originalUrl?: string; baseUrl?: string; body?: unknown };

/** A Connect-style middleware, as `app.use` takes it in Express and Connect. */
export type ConnectHandler = (req: HostRequest, res: ServerResponse, next: (error?: unknown) => void) => void;

/** A 400 `invalid_request` for prolong's error handler to answer with. */
function badBody(message: string): Error {
  return Object.assign(new Error(message), { statusCode: 400, code: "invalid_request" });
}

/** The form encoding (application/x-www-form-urlencoded) of fields a host's parser read. */
function formText(fields: object): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(fields)) {
    // A repeated parameter comes back repeated, so prolong refuses it as it would have.
    for (const item of Array.isArray(value) ? value : [value]) {
      if (typeof item !== "string") throw badBody(`parameter "${key}" is not a plain value`);
      params.append(key, item);
    }
  }
  return params.toString();
}

/**
 * The body again, as bytes, when a host's body parser (`express.json()`, `express.urlencoded()`,
 * `express.text()`, `express.raw()`) read the request before prolong: the stream is spent,
 * but the parsed body says the same. JSON is written back as JSON (prolong's parser then
 * applies its own rules to it), forms as forms.
 */
function replayedBody(request: HostRequest): Readable & { receivedEncodedLength?: number } {
  const body = request.body;
  if (body === undefined) {
    // Whoever read it kept nothing prolong can use: a host's misconfiguration, not the client's fault.
    throw new Error(
      "the request body was read before prolong's handler and not kept; mount prolong before that middleware",
    );
  }
  const type = (request.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  let bytes: Buffer;
  if (Buffer.isBuffer(body)) bytes = body;
  else if (typeof body === "string") bytes = Buffer.from(body, "utf8");
  else if (type === "application/x-www-form-urlencoded" && typeof body === "object" && body !== null)
    bytes = Buffer.from(formText(body), "utf8");
  else bytes = Buffer.from(JSON.stringify(body), "utf8");
  const stream: Readable & { receivedEncodedLength?: number } = Readable.from([bytes]);
  // Fastify checks the received length against Content-Length and the body limit: what
  // came over the wire is what counts, not the length of the body written back.
  const sent = Number(request.headers["content-length"]);
  if (Number.isFinite(sent)) stream.receivedEncodedLength = sent;
  return stream;
}

/**
 * A `preParsing` hook for prolong's routes behind {@link connectHandler}: the body as sent
 * when a host's parser already read the request (`express.json()` mounted globally),
 * untouched otherwise.
 */
export async function replayParsedBody(request: FastifyRequest, _reply: unknown, payload: Readable) {
  const raw = request.raw as HostRequest;
  const sent = raw.headers["transfer-encoding"] !== undefined || Number(raw.headers["content-length"]) > 0;
  return sent && raw.readableEnded ? replayedBody(raw) : payload;
}

/** The `invalid_config` error of a handler `app.use` mounted away from the issuer's path. */
function mountedElsewhere(mountedAt: unknown, mountPath: string): ProlongError {
  return wrongMount(mountedAt, mountPath, `mount it with app.use("${mountPath}", …)`);
}

/**
 * Whether a handler given to `app.use(path, …)` can still end up at the issuer's path:
 * at its app's root, or at a path the issuer's path ends with (an application mounted
 * under the rest of it, `api.use("/auth", …)` then `app.use("/v1", api)` for `/v1/auth`).
 */
function canReach(mountedAt: unknown, mountPath: string): boolean {
  if (typeof mountedAt !== "string") return false;
  const path = mountedAt === "/" ? mountedAt : mountedAt.replace(/\/+$/, "");
  return path === "/" || (path.startsWith("/") && mountPath.endsWith(path));
}

/**
 * Serves prolong's routes inside an Express or Connect application: requests under
 * `mountPath` (the issuer's path) are routed into prolong's own Fastify instance, built on
 * first use, by their original URL; anything else goes on to the host's next handler.
 *
 * Mounted elsewhere, the metadata and the cookie would name paths nobody serves, so a
 * wrong path is refused while the host is set up: Express takes a handler that has
 * `handle` and `set` for a sub-application, sets its `mountpath` and emits `mount` on it
 * (both documented for sub-applications), and `app.use` throws from there. Where
 * Express cannot tell the path (inside an `express.Router()`), every request is an
 * `invalid_config` error instead.
 */
export function connectHandler(mountPath: string, build: () => Promise<FastifyInstance>): ConnectHandler {
  let app: Promise<FastifyInstance> | null = null;
  const handler: ConnectHandler = (req, res, next) => {
    const url = req.originalUrl ?? req.url ?? "/";
    if (req.baseUrl !== undefined && req.baseUrl !== "" && req.baseUrl !== mountPath) {
      next(mountedElsewhere(req.baseUrl, mountPath));
      return;
    }
    const path = url.split("?")[0] ?? "";
    if (!isUnderMountPath(path, mountPath)) {
      next();
      return;
    }
    app ??= build().then(async (built) => {
      await built.ready();
      return built;
    });
    app.then((ready) => {
      // Express strips the mount path from `url`; prolong's routes live under it.
      req.url = url;
      ready.routing(req, res);
    }, next);
  };
  const subApplication = Object.assign(handler, {
    mountpath: undefined as unknown,
    handle: handler,
    // Only there for Express to recognise a sub-application; it sets nothing on it.
    set: () => subApplication,
    emit(event: string): boolean {
      if (event !== "mount") return false;
      if (!canReach(subApplication.mountpath, mountPath)) {
        throw mountedElsewhere(subApplication.mountpath, mountPath);
      }
      return true;
    },
  });
  return subApplication;
}

import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import { SUBJECT_ID_MAX } from "@prolong/core";
import type { ErrorBody } from "@prolong/protocol";
import type { FastifyError, FastifyReply, FastifyRequest, FastifyServerOptions } from "fastify";
import { sendErrorCode } from "./http-errors.js";

/*
 * Answers that Fastify (or Node's HTTP parser) gives before any route of ours runs, in
 * prolong's error shape (docs/protocol.md, "Errors"): its own defaults answer
 * `{"error": "Bad Request", "code": "FST_…", "message": …}` and echo the URL back.
 */

/**
 * The longest path parameter, in characters as sent: a subject id of SUBJECT_ID_MAX code
 * points, each percent-encoded as four UTF-8 bytes (12 characters), so that every id
 * docs/protocol.md allows reaches `/admin/subjects/:id` (Fastify's default is 100).
 */
export const MAX_PARAM_LENGTH = SUBJECT_ID_MAX * 12;

/** Fastify's `frameworkErrors`: a path that is not valid percent-encoding, or a parameter longer than any id. */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply) {
  if (error.code === "FST_ERR_MAX_PARAM_LENGTH")
    return sendErrorCode(reply, "invalid_request", "path: a segment is longer than any id", 414);
  if (error.code === "FST_ERR_BAD_URL")
    return sendErrorCode(reply, "invalid_request", "path: not valid percent-encoded UTF-8");
  return sendErrorCode(reply, "internal_error", "internal error");
}

/**
 * Fastify's `clientErrorHandler`: a request Node's parser refused (headers over 16 KiB,
 * a timeout, bytes that are not HTTP). Written to the socket, as no request exists.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  // A reset connection has nobody to answer.
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  const [status, description] =
    error.code === "HPE_HEADER_OVERFLOW"
      ? [431, "request header fields are too large"]
      : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? [408, "the request took too long to arrive"]
        : [400, "not a valid HTTP request"];
  const body = JSON.stringify({
    error: "invalid_request",
    error_description: description,
  } satisfies ErrorBody);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

/** The Fastify options that put these answers in place. */
export const frameworkOptions = {
  routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
  frameworkErrors,
  clientErrorHandler,
} satisfies Partial<FastifyServerOptions>;

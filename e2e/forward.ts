import { type IncomingMessage, request, type ServerResponse } from "node:http";

/**
 * Passes a request on to `host:port` unchanged (method, path, headers, body) and its answer
 * back: the reverse proxy of tests that put a page's origin in front of prolong. An
 * upstream that cannot be reached is a 502, as a proxy answers.
 */
export function forwardTo(
  upstream: { host: string; port: number | string },
  incoming: IncomingMessage,
  response: ServerResponse,
): void {
  const { method, url: path, headers } = incoming;
  const forward = request({ host: upstream.host, port: upstream.port, method, path, headers }, (answer) => {
    response.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(response);
  });
  forward.on("error", () => response.writeHead(502).end());
  incoming.pipe(forward);
}

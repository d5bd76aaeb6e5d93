import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import type { AccessTokenClaims } from "@prolong/protocol";
import { addressedUrl, authorize, carriesToken, checkGuardOptions, type GuardOptions } from "../bearer.js";
import type { Verifier } from "../verifier.js";

/**
 * For plain `node:http`: resolves with the claims, or answers the request itself
 * (RFC 6750 challenge) and resolves with `null`. The body is a stream the guard must
 * not consume; pass it as `body` once you have parsed it, so a second token there is seen.
 *
 * ```js
 * const claims = await guard(req, res); if (!claims) return;
 * ```
 *
 * node:http has no proxy rule: a DPoP proof is checked against the scheme of the
 * connection and the `Host` header, or against `publicOrigin` when given (behind a proxy).
 */
export function nodeGuard(verifier: Verifier, options: GuardOptions = {}) {
  checkGuardOptions(options);
  return async (
    req: IncomingMessage,
    res: ServerResponse,
    body?: unknown,
  ): Promise<AccessTokenClaims | null> => {
    const url = new URL(req.url ?? "/", "http://local");
    const result = await authorize(
      verifier,
      {
        authorization: req.headers.authorization,
        tokenInQuery: url.searchParams.has("access_token"),
        tokenInBody: carriesToken(body),
        dpop: req.headers.dpop,
        method: req.method ?? "GET",
        url: addressedUrl(options, req.url ?? "/", () => {
          const scheme = (req.socket as TLSSocket).encrypted ? "https" : "http";
          return `${scheme}://${req.headers.host ?? ""}${req.url ?? "/"}`;
        }),
      },
      options,
    );
    if (result.ok) {
      for (const [name, value] of Object.entries(result.headers)) res.setHeader(name, value);
      return result.claims;
    }
    res.writeHead(result.challenge.status, {
      ...result.challenge.headers,
      "content-type": "application/json",
    });
    res.end(JSON.stringify(result.challenge.body));
    return null;
  };
}

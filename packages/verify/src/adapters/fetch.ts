import type { AccessTokenClaims } from "@prolong/protocol";
import { addressedUrl, authorize, checkGuardOptions, type GuardOptions } from "../bearer.js";
import type { Verifier } from "../verifier.js";

const FORM = "application/x-www-form-urlencoded";

/** What a Fetch-API guard answers: the claims and headers to add, or the response to send. */
export type FetchAuthorization =
  | { ok: true; claims: AccessTokenClaims; headers: Record<string, string> }
  | { ok: false; response: Response };

/**
 * RFC 6750 §2.2 only defines a body token for form-encoded bodies. A clone is read, so
 * the route still gets the body.
 */
async function tokenInForm(request: Request): Promise<boolean> {
  if (!request.headers.get("content-type")?.toLowerCase().startsWith(FORM) || !request.body) return false;
  return new URLSearchParams(await request.clone().text()).has("access_token");
}

/**
 * For Fetch-API hosts (edge runtimes, Workers, Deno, Bun, Next.js route handlers and
 * middleware): checks a `Request` and resolves with the claims, or with the `Response`
 * to answer instead (RFC 6750 / RFC 9449 challenge). A DPoP proof is checked against
 * `request.url` as the runtime gives it; behind a proxy that changes it, give
 * `publicOrigin`.
 *
 * ```js
 * const auth = await guard(request); if (!auth.ok) return auth.response;
 * ```
 */
export function fetchGuard(verifier: Verifier, options: GuardOptions = {}) {
  checkGuardOptions(options);
  return async (request: Request): Promise<FetchAuthorization> => {
    const url = new URL(request.url);
    const result = await authorize(
      verifier,
      {
        authorization: request.headers.get("authorization") ?? undefined,
        tokenInQuery: url.searchParams.has("access_token"),
        tokenInBody: await tokenInForm(request),
        dpop: request.headers.get("dpop") ?? undefined,
        method: request.method,
        url: addressedUrl(options, `${url.pathname}${url.search}`, () => request.url),
      },
      options,
    );
    if (result.ok) return result;
    const { status, headers, body } = result.challenge;
    return {
      ok: false,
      response: new Response(JSON.stringify(body), {
        status,
        headers: { ...headers, "content-type": "application/json" },
      }),
    };
  };
}

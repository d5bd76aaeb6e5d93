import { SOFT_EXPIRY_HEADER, SOFT_EXPIRY_VALUE } from "@prolong/protocol";
import type { SessionClient } from "./client.js";
import { host } from "./options.js";

/** Whether `url` is on one of `origins`; relative URLs resolve against the page. */
export function allowed(origins: Set<string>, url: string): boolean {
  try {
    return origins.has(new URL(url, host.location?.href).origin);
  } catch {
    return false;
  }
}

/**
 * `fetch` with the client's access token attached, for allowed origins only; other URLs
 * are fetched untouched. A `401 invalid_token` triggers one refresh and one retry; a body
 * that cannot be read twice (a stream) is not retried.
 */
export async function fetchWithToken(
  client: SessionClient,
  send: typeof fetch,
  input: string | URL | Request,
  init?: RequestInit,
): Promise<Response> {
  // A bearer token works for whoever holds it (RFC 6750 §5.2): never hand it to a third party.
  if (!client.allowsTokenFor((input as Request).url ?? String(input))) return send(input, init);
  const request = new Request(input, init);
  const replayable = !(init?.body instanceof ReadableStream);
  const withToken = (token: string | null, req: Request) => {
    const headers = new Headers(req.headers);
    if (token) headers.set("authorization", `Bearer ${token}`);
    return send(new Request(req, { headers }));
  };
  const token = await client.getAccessToken();
  const response = await withToken(token, replayable ? request.clone() : request);
  if (
    response.status === 401 &&
    replayable &&
    /invalid_token/.test(response.headers.get("www-authenticate") ?? "")
  ) {
    // Another caller may have renewed meanwhile; only refresh if the token is still the one refused.
    const renewed = client.accessToken !== token ? true : await client.refresh("reactive");
    if (renewed && client.accessToken) return withToken(client.accessToken, request);
  } else if (response.headers.get(SOFT_EXPIRY_HEADER) === SOFT_EXPIRY_VALUE && client.accessToken === token) {
    void client.refresh("soft-expiry");
  }
  return response;
}

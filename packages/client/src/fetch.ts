import { DPOP_NONCE_HEADER, SOFT_EXPIRY_HEADER, SOFT_EXPIRY_VALUE } from "@prolong/protocol";
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
 * are fetched untouched. A `401 invalid_token` triggers one refresh and one retry, a
 * `401 use_dpop_nonce` one retry with the API's nonce; a body that cannot be read twice
 * (a stream) is not retried. A `401 insufficient_user_authentication` is reported as a
 * `stepup` event and returned.
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
  const withToken = async (token: string | null, req: Request) => {
    const headers = new Headers(req.headers);
    if (token) await client.authorize(headers, req.method, req.url, token);
    const response = await send(new Request(req, { headers }));
    return [response, client.rememberNonce(req.url, response.headers.get(DPOP_NONCE_HEADER))] as const;
  };
  const token = await client.getAccessToken();
  let [response, nonce] = await withToken(token, replayable ? request.clone() : request);
  const challenge = () => response.headers.get("www-authenticate") ?? "";
  // RFC 9449 §9: an API that wants its nonce in the proof says so once; the proof is remade with it.
  if (response.status === 401 && replayable && nonce && /use_dpop_nonce/.test(challenge()))
    [response] = await withToken(token, request.clone());
  if (response.status === 401 && replayable && /invalid_token/.test(challenge())) {
    // Another caller may have renewed meanwhile; only refresh if the token is still the one refused.
    const renewed = client.accessToken !== token ? true : await client.refresh("reactive");
    if (renewed && client.accessToken) [response] = await withToken(client.accessToken, request);
  } else if (response.headers.get(SOFT_EXPIRY_HEADER) === SOFT_EXPIRY_VALUE && client.accessToken === token) {
    void client.refresh("soft-expiry");
  }
  // RFC 9470: the user's to answer, not the session's: told once, the answer returned as is.
  client.reportAnswer(response.status, challenge());
  return response;
}

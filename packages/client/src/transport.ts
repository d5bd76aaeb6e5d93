/**
 * Requests to the server: one request and its JSON body with a timeout, the calls to its
 * endpoints with their DPoP proofs, the form posts that carry the refresh credential,
 * RFC 7009 revocation, and the RFC 8414 metadata, read once.
 */
import {
  type AuthorizationServerMetadata,
  CSRF_HEADER,
  CSRF_VALUE,
  DPOP_HEADER,
  DPOP_NONCE_HEADER,
  METADATA_PATH,
} from "@prolong/protocol";
import { prove, rememberNonce } from "./dpop.js";
import type { ClientErrorCode } from "./events.js";
import { host } from "./options.js";
import { after, type State, stop } from "./state.js";
import { type Answer, type Body, codeOf, failure } from "./token-endpoint.js";

/** What the client reads of the server's RFC 8414 metadata. */
export type Metadata = Pick<
  AuthorizationServerMetadata,
  "token_endpoint" | "login_endpoint" | "revocation_endpoint"
>;

/** One request and its JSON body, given up after `requestTimeout` (and on `stop()`, unless `outlivesStop`). */
export async function send(
  s: State,
  url: string,
  init?: RequestInit,
  outlivesStop = false,
): Promise<[Response, Answer]> {
  const controller = new AbortController();
  const cancel = after(s, s.o.requestTimeout, () => controller.abort(), outlivesStop);
  try {
    const response = await s.o.fetch(url, { ...init, signal: controller.signal });
    // A body cut off on its way (the connection broke after the head arrived) is a lost
    // answer, not an empty one: reading it throws, and the caller retries as after any
    // network failure. A rotation the server committed is then answered again inside
    // the grace window (docs/protocol.md); read as `{}` it would end the session.
    const body = answerOf(await response.text());
    controller.signal.throwIfAborted();
    return [response, body];
  } finally {
    cancel();
  }
}

/**
 * A request to one of the server's endpoints (login, token, revocation): with a DPoP proof
 * when the client has a key (RFC 9449 §5), and once more, with a fresh proof, when the
 * server asks for its nonce (§8: `use_dpop_nonce` and a `DPoP-Nonce`).
 */
export async function call(
  s: State,
  url: string,
  init: RequestInit,
  outlivesStop = false,
): Promise<[Response, Answer]> {
  for (let retried = false; ; retried = true) {
    const headers = new Headers(init.headers);
    if (s.o.dpop) headers.set(DPOP_HEADER, await prove(s, init.method as string, url));
    const answer = await send(s, url, { ...init, headers }, outlivesStop);
    const [response, body] = answer;
    const nonce = rememberNonce(s, url, response.headers.get(DPOP_NONCE_HEADER));
    if (retried || !nonce || (body.error as string) !== "use_dpop_nonce") return answer;
  }
}

/**
 * A form post with the refresh credential: the stored token in `fields` (native), or the
 * cookie, which counts only with the Prolong-CSRF header (web, docs/protocol.md).
 */
export function post(s: State, url: string, fields: Body, outlivesStop = false): Promise<[Response, Answer]> {
  const headers: Body = { "content-type": "application/x-www-form-urlencoded" };
  if (s.o.profile === "web") headers[CSRF_HEADER] = CSRF_VALUE;
  const body = new URLSearchParams({ ...fields, client_id: s.o.clientId });
  return call(s, url, { method: "POST", headers, credentials: "include", body }, outlivesStop);
}

/** The refresh credential as form fields: `{}` for web (the cookie carries it), `null` when native has none. */
export async function credential(s: State, field: string): Promise<Body | null> {
  if (s.o.profile === "web") return {};
  const stored = await s.o.storage.get();
  return stored ? { [field]: stored } : null;
}

/** RFC 7009: revokes the refresh credential; done or not (offline), the session ends here. */
export async function revoke(s: State, credential: Body): Promise<void> {
  try {
    const { revocation_endpoint } = await meta(s);
    // An app that signs out and unmounts (stop) at once must still end the session.
    await post(s, revocation_endpoint, { ...credential, token_type_hint: "refresh_token" }, true);
  } catch {
    // Offline or the server is gone: signed out here all the same.
  }
}

/** The server's metadata, fetched on first use and again after a failure. */
export function meta(s: State): Promise<Metadata> {
  s.metadata ??= readMeta(s).catch((error) => {
    s.metadata = null;
    throw error;
  });
  return s.metadata;
}

/**
 * The RFC 8414 metadata, or a fatal error when this client can never use it: the
 * document names another issuer, or the issuer answers but not to this page.
 */
async function readMeta(s: State): Promise<Metadata> {
  const issuer = s.o.issuer.replace(/\/+$/, "");
  const url = `${issuer}${METADATA_PATH}`;
  let answer: [Response, Answer];
  for (let tries = 0; ; tries++) {
    try {
      answer = await send(s, url);
      break;
    } catch (error) {
      // A request refused by CORS and one that got no answer throw the same TypeError.
      // An opaque (no-cors) request that gets through tells them apart: the issuer is up,
      // and does not let this page read it. Once more first, lest a blip decide.
      if (!(error instanceof TypeError) || !(await answersOpaque(s, url))) throw error;
      if (tries) throw fatal(s, "issuer_unreachable", `${issuer} does not answer this page's origin (CORS)`);
    }
  }
  const [response, body] = answer;
  if (!response.ok) throw failure(codeOf(response.status), `metadata answered ${response.status}`);
  // RFC 8414 §3.3: the document must name the issuer it was fetched for; the tokens and
  // endpoints of another are not this client's (a page on 127.0.0.1, an issuer on localhost).
  if (body.issuer?.replace(/\/+$/, "") !== issuer)
    throw fatal(s, "issuer_mismatch", `the server's issuer is ${body.issuer}, not ${issuer}`);
  return body as unknown as Metadata;
}

/** Whether `url`, on another origin than the page's, answers a request the page may not read. */
async function answersOpaque(s: State, url: string): Promise<boolean> {
  const page = host.location?.href;
  if (!page || new URL(url).origin === new URL(page).origin) return false;
  try {
    await send(s, url, { mode: "no-cors", credentials: "omit" });
    return true;
  } catch {
    return false;
  }
}

/** Reports a mistake no retry can mend, once, and stops the client; answers the error to throw. */
function fatal(s: State, code: ClientErrorCode, message: string): Error {
  const error = failure(code, message);
  s.events.emit("error", { error, code, fatal: true });
  stop(s);
  return error;
}

/** A body that arrived whole: its JSON object, or `{}` when it is none (a proxy's HTML error page). */
function answerOf(text: string): Answer {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as Answer) : {};
  } catch {
    return {};
  }
}

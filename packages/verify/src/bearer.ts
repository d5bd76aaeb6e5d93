import {
  type AccessTokenClaims,
  type ErrorBody,
  SOFT_EXPIRY_HEADER,
  SOFT_EXPIRY_VALUE,
} from "@prolong/protocol";
import type { VerifyErrorCode } from "./errors.js";
import type { Verifier } from "./verifier.js";

/** What a request carries, as every adapter reads it from its framework. */
export interface BearerInput {
  authorization: string | undefined;
  /** `access_token` appears in the query string. */
  tokenInQuery: boolean;
  /** `access_token` appears in an already-parsed body. */
  tokenInBody: boolean;
}

/** What every adapter accepts besides the verifier. */
export interface GuardOptions {
  /** RFC 6750 §3 `realm` of the challenge; left out when not given. */
  realm?: string;
}

/** Whether an already-parsed query or body has an `access_token` member (RFC 6750 §2.2, §2.3). */
export const carriesToken = (value: unknown): boolean =>
  typeof value === "object" && value !== null && "access_token" in value;

/** An answer to send instead of running the route. */
export interface Challenge {
  status: number;
  headers: Record<string, string>;
  body: ErrorBody;
}

export type Authorization =
  | { ok: true; claims: AccessTokenClaims; headers: Record<string, string> }
  | { ok: false; challenge: Challenge };

/** RFC 6750 §2.1 b64token. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

function challenge(
  realm: string | undefined,
  status: number,
  error?: "invalid_request" | "invalid_token",
  description?: string,
): Challenge {
  const params: string[] = [];
  if (realm !== undefined) params.push(`realm="${realm.replace(/["\\]/g, "")}"`);
  // §3: no error attribute when the request carried no credentials at all.
  if (error) params.push(`error="${error}"`, `error_description="${description}"`);
  return {
    status,
    headers: { "WWW-Authenticate": params.length ? `Bearer ${params.join(", ")}` : "Bearer" },
    body: error ? { error, error_description: description as string } : { error: "unauthorized" },
  };
}

/**
 * docs/protocol.md: the description only tells `expired` (renew and retry) from `invalid`.
 * A revoked token is invalid to the client; why a token failed is not told to the caller,
 * so a forger learns nothing from the answer.
 */
const DESCRIPTIONS: Record<VerifyErrorCode, string> = {
  expired: "expired",
  invalid_token: "invalid",
  revoked: "invalid",
  invalid_request: "invalid request",
  unavailable: "unavailable",
  invalid_dpop_proof: "invalid",
  use_dpop_nonce: "invalid",
};

/** The whole bearer flow of a protected route, shared by every adapter. */
export async function authorize(
  verifier: Verifier,
  input: BearerInput,
  options: GuardOptions = {},
): Promise<Authorization> {
  const { realm } = options;
  // §2.3: a token in the URL ends up in logs and Referer headers; never accept it.
  if (input.tokenInQuery)
    return { ok: false, challenge: challenge(realm, 400, "invalid_request", "token in query string") };
  if (input.authorization === undefined) {
    if (input.tokenInBody) {
      return {
        ok: false,
        challenge: challenge(realm, 400, "invalid_request", "send the token in the Authorization header"),
      };
    }
    return { ok: false, challenge: challenge(realm, 401) };
  }
  // §3.1: more than one way of sending a token is a malformed request.
  if (input.tokenInBody)
    return { ok: false, challenge: challenge(realm, 400, "invalid_request", "more than one token") };
  const match = /^Bearer +(\S+) *$/i.exec(input.authorization);
  if (!match) {
    if (/^Bearer\b/i.test(input.authorization)) {
      return {
        ok: false,
        challenge: challenge(realm, 400, "invalid_request", "malformed Authorization header"),
      };
    }
    return { ok: false, challenge: challenge(realm, 401) };
  }
  const token = match[1] as string;
  if (!B64TOKEN.test(token))
    return { ok: false, challenge: challenge(realm, 401, "invalid_token", "invalid") };
  const result = await verifier.verify(token);
  if (result.ok)
    return {
      ok: true,
      claims: result.claims,
      // Soft expiry (P11): the client renews at once, whatever its clock says.
      headers: result.renewSoon ? { [SOFT_EXPIRY_HEADER]: SOFT_EXPIRY_VALUE } : {},
    };
  if (result.code === "unavailable") {
    return {
      ok: false,
      challenge: { status: 503, headers: { "Retry-After": "5" }, body: { error: "temporarily_unavailable" } },
    };
  }
  return { ok: false, challenge: challenge(realm, 401, "invalid_token", DESCRIPTIONS[result.code]) };
}

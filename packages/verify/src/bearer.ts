import {
  type AccessTokenClaims,
  DPOP_NONCE_HEADER,
  DPOP_SCHEME,
  type DpopErrorCode,
  type ErrorBody,
  SOFT_EXPIRY_HEADER,
  SOFT_EXPIRY_VALUE,
  STEP_UP_ERROR,
  type StepUpBody,
} from "@prolong/protocol";
import type { VerifyErrorCode } from "./errors.js";
import {
  type AuthenticationRequirements,
  checkRequirements,
  type UnmetRequirement,
  unmetRequirements,
} from "./step-up.js";
import type { Verifier, VerifyResult } from "./verifier.js";

/** What a request carries, as every adapter reads it from its framework. */
export interface BearerInput {
  authorization: string | undefined;
  /** `access_token` appears in the query string. */
  tokenInQuery: boolean;
  /** `access_token` appears in an already-parsed body. */
  tokenInBody: boolean;
  /** The `DPoP` request header (RFC 9449 §4.1), as the framework gives it. */
  dpop?: string | readonly string[] | undefined;
  /** The request method; needed for the DPoP scheme (a proof's `htm`). */
  method?: string;
  /**
   * The URL as the client addressed it; needed for the DPoP scheme (a proof's `htu`).
   * Adapters build it with their framework's proxy rule, or from `publicOrigin`.
   */
  url?: string | URL;
}

/**
 * What every adapter accepts besides the verifier. A guard is made per route, so
 * `maxAge` and `acr` are that route's requirements (RFC 9470).
 */
export interface GuardOptions extends AuthenticationRequirements {
  /** RFC 6750 §3 `realm` of the challenge; left out when not given. */
  realm?: string;
  /**
   * The origin clients address this server by (`https://api.example.com`, optionally
   * with the path prefix a proxy strips), when a proxy in front changes scheme, host or
   * path. DPoP proofs name the URL the client used (RFC 9449 §4.3 point 9); without this
   * option each adapter takes it from its framework, with the framework's proxy rule.
   */
  publicOrigin?: string;
}

/**
 * The URL a DPoP proof must name: `publicOrigin` (when given) before the path and query
 * the server received, or the adapter's own reconstruction.
 */
export function addressedUrl(options: GuardOptions, pathAndQuery: string, own: () => string): string {
  if (options.publicOrigin === undefined) return own();
  return `${options.publicOrigin.replace(/\/+$/, "")}${pathAndQuery}`;
}

/** Whether an already-parsed query or body has an `access_token` member (RFC 6750 §2.2, §2.3). */
export const carriesToken = (value: unknown): boolean =>
  typeof value === "object" && value !== null && "access_token" in value;

/** An answer to send instead of running the route. */
export interface Challenge {
  status: number;
  headers: Record<string, string>;
  body: ErrorBody | { error: DpopErrorCode; error_description: string } | StepUpBody;
}

export type Authorization =
  | { ok: true; claims: AccessTokenClaims; headers: Record<string, string> }
  | { ok: false; challenge: Challenge };

/** RFC 6750 §2.1 b64token, also the token68 of the DPoP scheme (RFC 9449 §7.1). */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

type ChallengeError = "invalid_request" | "invalid_token" | DpopErrorCode | typeof STEP_UP_ERROR;

/** The challenge's scheme and, for DPoP, the algorithms a proof may use (RFC 9449 §7.1). */
type Scheme = { name: "Bearer" } | { name: typeof DPOP_SCHEME; algs: readonly string[] };
const BEARER: Scheme = { name: "Bearer" };

function challenge(
  realm: string | undefined,
  status: number,
  error?: ChallengeError,
  description?: string,
  scheme: Scheme = BEARER,
  extra: readonly string[] = [],
): Challenge {
  const params: string[] = [];
  if (realm !== undefined) params.push(`realm="${realm.replace(/["\\]/g, "")}"`);
  // §3: no error attribute when the request carried no credentials at all.
  if (error) params.push(`error="${error}"`, `error_description="${description}"`, ...extra);
  if (scheme.name === DPOP_SCHEME) params.push(`algs="${scheme.algs.join(" ")}"`);
  return {
    status,
    headers: { "WWW-Authenticate": params.length ? `${scheme.name} ${params.join(", ")}` : scheme.name },
    body: error
      ? ({ error, error_description: description as string } as Challenge["body"])
      : { error: "unauthorized" },
  };
}

/**
 * docs/protocol.md: the description only tells `expired` (renew and retry) from `invalid`.
 * A revoked token is invalid to the client; why a token failed is not told to the caller,
 * so a forger learns nothing from the answer. Proof refusals are told apart from token
 * ones, as RFC 9449 §7.1 asks, by their `error` code.
 */
const DESCRIPTIONS: Record<VerifyErrorCode, string> = {
  expired: "expired",
  invalid_token: "invalid",
  revoked: "invalid",
  invalid_request: "invalid request",
  unavailable: "unavailable",
  invalid_dpop_proof: "invalid proof",
  use_dpop_nonce: "nonce required",
};

/** The answer to a token or proof the verifier refused, under the scheme it came with. */
function refusal(
  result: Extract<VerifyResult, { ok: false }>,
  realm: string | undefined,
  scheme: Scheme,
): Authorization {
  if (result.code === "unavailable") {
    return {
      ok: false,
      challenge: { status: 503, headers: { "Retry-After": "5" }, body: { error: "temporarily_unavailable" } },
    };
  }
  const error: ChallengeError =
    result.code === "invalid_dpop_proof" || result.code === "use_dpop_nonce" ? result.code : "invalid_token";
  const answer = challenge(realm, 401, error, DESCRIPTIONS[result.code], scheme);
  // RFC 9449 §9: the nonce to retry with.
  if (result.nonce !== undefined) answer.headers[DPOP_NONCE_HEADER] = result.nonce;
  return { ok: false, challenge: answer };
}

/** The whole bearer flow of a protected route, shared by every adapter. */
export async function authorize(
  verifier: Verifier,
  input: BearerInput,
  options: GuardOptions = {},
): Promise<Authorization> {
  const { realm } = options;
  const demanding = options.maxAge !== undefined || options.acr !== undefined;
  if (demanding && !checked.has(options)) checkGuardOptions(options);
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
  const match = /^(Bearer|DPoP) +(\S+) *$/i.exec(input.authorization);
  if (!match) {
    const malformed = /^(Bearer|DPoP)\b/i.exec(input.authorization);
    if (malformed) {
      const scheme = dpopScheme(verifier, (malformed[1] as string).toLowerCase() === "dpop");
      return {
        ok: false,
        challenge: challenge(realm, 400, "invalid_request", "malformed Authorization header", scheme),
      };
    }
    return { ok: false, challenge: challenge(realm, 401) };
  }
  // RFC 9110 §11.1: the scheme name is case-insensitive.
  const scheme = dpopScheme(verifier, (match[1] as string).toLowerCase() === "dpop");
  const token = match[2] as string;
  if (!B64TOKEN.test(token))
    return { ok: false, challenge: challenge(realm, 401, "invalid_token", "invalid", scheme) };
  let result: VerifyResult;
  if (scheme.name === DPOP_SCHEME) {
    if (input.method === undefined || input.url === undefined)
      throw new TypeError("authorize needs the request's method and url for the DPoP scheme");
    result = await verifier.verifyDpop(token, { proof: input.dpop, method: input.method, url: input.url });
  } else {
    // RFC 9449 §7.2: `verify` refuses a bound token here, so it never passes as a bearer token.
    result = await verifier.verify(token);
  }
  if (!result.ok) return refusal(result, realm, scheme);
  if (demanding) {
    const unmet = unmetRequirements(result.claims, options, verifier.now() / 1000);
    if (unmet.length > 0) {
      const answer = stepUp(realm, options, unmet, scheme);
      // RFC 9449 §8.2: a new nonce may come with any answer, a refusal too.
      if (result.nonce !== undefined) answer.headers[DPOP_NONCE_HEADER] = result.nonce;
      return { ok: false, challenge: answer };
    }
  }
  const headers: Record<string, string> = {};
  // Soft expiry (P11): the client renews at once, whatever its clock says.
  if (result.renewSoon) headers[SOFT_EXPIRY_HEADER] = SOFT_EXPIRY_VALUE;
  // RFC 9449 §8.2: a new nonce may come with any answer; the client uses it next time.
  if (result.nonce !== undefined) headers[DPOP_NONCE_HEADER] = result.nonce;
  return { ok: true, claims: result.claims, headers };
}

/**
 * Checks a guard's options once, where it is made, so a mistake fails at start-up with
 * a TypeError naming the option; `authorize` checks options it has not seen before.
 */
export function checkGuardOptions(options: GuardOptions): void {
  checkRequirements(options);
  checked.add(options);
}

const checked = new WeakSet<GuardOptions>();

const STEP_UP_DESCRIPTIONS: Record<string, string> = {
  maxAge: "authentication is too old",
  acr: "authentication context is not accepted",
  "maxAge,acr": "authentication is too old and its context is not accepted",
};

/**
 * RFC 9470 §3: the token is good but the user's authentication is not enough for the
 * route. The challenge names every requirement of the route, not only the unmet ones, so
 * one new authentication satisfies the route (a fresh one of a context it accepts).
 */
function stepUp(
  realm: string | undefined,
  requirements: AuthenticationRequirements,
  unmet: readonly UnmetRequirement[],
  scheme: Scheme,
): Challenge {
  const description = STEP_UP_DESCRIPTIONS[unmet.join(",")] as string;
  const params: string[] = [];
  const body: StepUpBody = { error: STEP_UP_ERROR, error_description: description };
  if (requirements.maxAge !== undefined) {
    params.push(`max_age=${requirements.maxAge}`);
    body.max_age = requirements.maxAge;
  }
  if (requirements.acr !== undefined) {
    const values = requirements.acr.join(" ");
    params.push(`acr_values="${values}"`);
    body.acr_values = values;
  }
  return { ...challenge(realm, 401, STEP_UP_ERROR, description, scheme, params), body };
}

function dpopScheme(verifier: Verifier, dpop: boolean): Scheme {
  return dpop ? { name: DPOP_SCHEME, algs: verifier.dpopAlgorithms } : BEARER;
}

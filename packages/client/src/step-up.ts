import { STEP_UP_ERROR } from "@prolong/protocol";

/**
 * What a resource server asked for in an RFC 9470 step-up challenge: the user must have
 * authenticated at most `maxAge` seconds ago, and/or with one of `acrValues` (most
 * preferred first). Either may be absent.
 */
export interface StepUpChallenge {
  maxAge?: number;
  acrValues?: string[];
}

/** One auth-param (RFC 9110 §11.2): a name, then a token or a quoted string. */
const PARAM = /([!#$%&'*+.^_`|~0-9A-Za-z-]+)[ \t]*=[ \t]*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]+))/g;

/**
 * The step-up challenge in a 401's `WWW-Authenticate` (under the `Bearer` or `DPoP`
 * scheme), or `null` when the answer is anything else: an expired or invalid token is
 * the client's to renew, a step-up is the user's to answer.
 */
export function stepUpChallenge(status: number, header: string | null | undefined): StepUpChallenge | null {
  if (status !== 401 || !header) return null;
  const params = new Map<string, string>();
  for (const [, name, quoted, token] of header.matchAll(PARAM)) {
    const key = (name as string).toLowerCase();
    // The first occurrence wins: a second challenge in the header does not override it.
    if (!params.has(key))
      params.set(key, quoted === undefined ? (token as string) : quoted.replace(/\\(.)/g, "$1"));
  }
  if (params.get("error") !== STEP_UP_ERROR) return null;
  const challenge: StepUpChallenge = {};
  const maxAge = params.get("max_age");
  if (maxAge !== undefined && /^\d+$/.test(maxAge)) challenge.maxAge = Number(maxAge);
  const acr = params.get("acr_values")?.split(" ").filter(Boolean);
  if (acr?.length) challenge.acrValues = acr;
  return challenge;
}

import type { State } from "./state.js";

/**
 * What a resource server asked for in an RFC 9470 step-up challenge: the user must have
 * authenticated at most `maxAge` seconds ago, and/or with one of `acrValues` (most
 * preferred first). Either may be absent.
 */
export interface StepUpChallenge {
  maxAge?: number | undefined;
  acrValues?: string[] | undefined;
}

/**
 * Fires `stepup` when an API answered 401 with an RFC 9470 §3 step-up challenge, under
 * the `Bearer` or `DPoP` scheme: the user's to answer, not the session's, so nothing else
 * happens (an expired or invalid token is the client's to renew, elsewhere). Read with
 * patterns rather than a full RFC 9110 §11 parser, which would not fit the client's size
 * budget: `max_age` as a token or quoted, `acr_values` quoted, as RFC 9470 sends them.
 */
export function reportStepUp(s: State, status: number | undefined, challenge: string): void {
  const maxAge = /max_age="?(\d+)/.exec(challenge)?.[1];
  if (status === 401 && /insufficient_user_authentication/.test(challenge))
    s.events.emit("stepup", {
      maxAge: maxAge ? +maxAge : undefined,
      acrValues: /acr_values="([^"]+)/.exec(challenge)?.[1]?.split(" "),
    });
}

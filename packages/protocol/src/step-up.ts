/**
 * RFC 9470 §3: the `error` of a resource server's challenge when the token is good but
 * the user's authentication is not enough for the route (too long ago, or of an
 * authentication context the route does not accept). The client has the user
 * authenticate again (step up); it is no reason to refresh or to sign out.
 */
export const STEP_UP_ERROR = "insufficient_user_authentication";

/**
 * The JSON body prolong's verifier answers a step-up challenge with: the challenge's
 * parameters again (RFC 9470 §3), for clients that read bodies rather than headers.
 */
export interface StepUpBody {
  error: typeof STEP_UP_ERROR;
  /** For people, never for programs: it may change wording. */
  error_description: string;
  /** Seconds: the user must have authenticated at most this long ago (`max_age`). */
  max_age?: number;
  /** Space-separated authentication context classes, any of which the route accepts (`acr_values`). */
  acr_values?: string;
}

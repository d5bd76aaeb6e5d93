/**
 * Why a token was not accepted. Adapters map `expired` and `invalid_token` and `revoked`
 * to RFC 6750 §3 `401 invalid_token`, `invalid_request` to 400, `unavailable` to 503.
 */
export type VerifyErrorCode = "invalid_token" | "expired" | "revoked" | "invalid_request" | "unavailable";

export class VerifyError extends Error {
  override readonly name = "VerifyError";
  readonly code: VerifyErrorCode;

  constructor(code: VerifyErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export const invalid = (why: string) => new VerifyError("invalid_token", why);

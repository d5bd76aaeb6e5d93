/**
 * Why a token was not accepted. Adapters map `expired` and `invalid_token` and `revoked`
 * to RFC 6750 §3 `401 invalid_token`, `invalid_request` to 400, `unavailable` to 503;
 * the DPoP proof codes of RFC 9449 §7.1 and §9 (`invalid_dpop_proof`, `use_dpop_nonce`)
 * to 401 with a `DPoP` challenge.
 */
export type VerifyErrorCode =
  | "invalid_token"
  | "expired"
  | "revoked"
  | "invalid_request"
  | "unavailable"
  | "invalid_dpop_proof"
  | "use_dpop_nonce";

export class VerifyError extends Error {
  override readonly name = "VerifyError";
  readonly code: VerifyErrorCode;

  constructor(code: VerifyErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export const invalid = (why: string) => new VerifyError("invalid_token", why);

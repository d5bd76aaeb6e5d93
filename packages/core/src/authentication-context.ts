import { ProlongError } from "./errors.js";

/**
 * What a host may vouch for about how its user authenticated: an `acr` (RFC 9068
 * §2.2.1, the authentication context class) and `amr` values (RFC 8176, e.g. `pwd`,
 * `otp`, `hwk`). They end up in every access token of the session, so they are short,
 * printable and few: a resource server compares them, nobody reads them.
 */

const ACR_MAX = 200;
const AMR_MAX_VALUES = 16;
const AMR_VALUE_MAX = 64;
/** Printable ASCII without spaces: `acr_values` is a space-separated list (RFC 9470 §3). */
const TOKEN = /^[\x21-\x7e]+$/;

/** `value` as an `acr`: `undefined` and `null` pass through; else throws `invalid_request` naming `field`. */
export function checkAcr(value: unknown, field = "acr"): string | null | undefined {
  if (value === undefined || value === null) return value;
  if (typeof value !== "string" || value.length === 0 || value.length > ACR_MAX || !TOKEN.test(value)) {
    throw new ProlongError(
      "invalid_request",
      `${field}: must be 1 to ${ACR_MAX} printable characters without spaces`,
    );
  }
  return value;
}

/** `value` as `amr` values, deduplicated in order; `undefined` and `null` pass through. */
export function checkAmr(value: unknown, field = "amr"): string[] | null | undefined {
  if (value === undefined || value === null) return value;
  const problem = `${field}: must be a list of at most ${AMR_MAX_VALUES} method names (RFC 8176), each 1 to ${AMR_VALUE_MAX} printable characters without spaces`;
  if (!Array.isArray(value) || value.length > AMR_MAX_VALUES)
    throw new ProlongError("invalid_request", problem);
  for (const method of value) {
    if (
      typeof method !== "string" ||
      method.length === 0 ||
      method.length > AMR_VALUE_MAX ||
      !TOKEN.test(method)
    ) {
      throw new ProlongError("invalid_request", problem);
    }
  }
  return [...new Set(value as string[])];
}

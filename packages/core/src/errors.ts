import type { ErrorCode } from "@prolong/protocol";

/**
 * The one error class of prolong. `code` is one of the stable codes of `@prolong/protocol`
 * (docs/protocol.md, "Errors"), which the HTTP layer maps to statuses and to the RFC 6749
 * §5.2 / RFC 6750 §3 answers; the core never knows about HTTP. `message` is for humans
 * and never holds a secret.
 */
export class ProlongError extends Error {
  override readonly name = "ProlongError";
  readonly code: ErrorCode;
  /**
   * For `rate_limited`: when the budget refills (ms since the epoch), which the HTTP layer
   * turns into `Retry-After`; `undefined` otherwise.
   */
  readonly retryAt: number | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; retryAt?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryAt = options?.retryAt;
  }
}

/** True when `error` is a {@link ProlongError}, optionally of the given code. */
export function isProlongError(error: unknown, code?: ErrorCode): error is ProlongError {
  return error instanceof ProlongError && (code === undefined || error.code === code);
}

import { ProlongError } from "@prolong/core";

/**
 * Whether a request path is one of prolong's: the issuer's path itself or below it
 * (`/auth`, `/auth/oauth/token` for the issuer `https://app.example.com/auth`; every path
 * for an issuer without one). The metadata, the refresh cookie's `Path` and every token's
 * `iss` name these URLs, so a host that serves prolong anywhere else serves URLs nobody
 * is told about.
 */
export function isUnderMountPath(path: string, mountPath: string): boolean {
  return path === mountPath || path.startsWith(`${mountPath}/`);
}

/**
 * The `invalid_config` error of a surface given requests outside the issuer's path:
 * `at` is where the host put prolong (or the path it was handed), `fix` how that host
 * puts it at the right one.
 */
export function mountedElsewhere(at: unknown, mountPath: string, fix: string): ProlongError {
  const where = typeof at === "string" ? at : JSON.stringify(at);
  return new ProlongError(
    "invalid_config",
    `prolong is mounted at ${where} but its issuer's path is ${mountPath || "/"}: ${fix}`,
  );
}

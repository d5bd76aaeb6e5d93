import type { AccessTokenClaims } from "@prolong/protocol";

/**
 * Reads a JWT's claims without verifying them (the API does): the client only needs the
 * times, and checks that `exp` and `iat` are numbers before it relies on them.
 */
export function readClaims(token: string): AccessTokenClaims | null {
  try {
    // A token without a second part throws here, and is no token.
    const base64 = (token.split(".")[1] as string).replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes)) as AccessTokenClaims;
    return typeof claims.exp === "number" && typeof claims.iat === "number" ? claims : null;
  } catch {
    return null;
  }
}

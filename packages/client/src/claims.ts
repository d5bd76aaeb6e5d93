import type { AccessTokenClaims } from "./events.js";

/** Reads a JWT's claims without verifying them: the client only needs the times. */
export function readClaims(token: string): AccessTokenClaims | null {
  const part = token.split(".")[1];
  if (!part) return null;
  try {
    const base64 = part.replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes)) as AccessTokenClaims;
    return typeof claims.exp === "number" && typeof claims.iat === "number" ? claims : null;
  } catch {
    return null;
  }
}

// The access token the verify benches check: claims shaped as prolong issues them
// (docs/protocol.md, "Access tokens"), so every bench verifies the same work.

export const ISSUER = "https://auth.example.test";
export const AUDIENCE = "prolong";

/**
 * The claims of an access token issued at `now` (seconds) for `lifetime` seconds, with
 * `rfa` at four fifths of it, as the default profile sets it.
 * @param {number} now
 * @param {number} [lifetime]
 */
export function accessTokenClaims(now, lifetime = 300) {
  return {
    iss: ISSUER,
    sub: "user-42",
    aud: AUDIENCE,
    exp: now + lifetime,
    iat: now,
    jti: "3f2a9c1e-7b4d-4e8a-9c0f-5d6e7f8a9b0c",
    client_id: "web",
    sid: "sess-8d7c6b5a",
    ver: 3,
    auth_time: now - 3600,
    rfa: now + (lifetime * 4) / 5,
    roles: ["reader"],
  };
}

/**
 * DPoP proofs (RFC 9449): a fresh JWS, signed with the client's key, for each request to
 * the server's endpoints and, with a bound access token, to the APIs it is sent to; and
 * the nonces servers hand out, remembered per origin (§8, §9).
 */
import { DPOP_PROOF_TYP } from "@prolong/protocol";
import { type DpopKey, type DpopKeyStore, loadKey } from "./dpop-key.js";
import type { Settings } from "./options.js";
import { failure } from "./token-endpoint.js";

/** What proof making needs of the client's State (state.ts), so this module stands alone in tests. */
export interface Prover {
  o: Pick<Settings, "dpop" | "locks" | "now" | "issuer">;
  /** Server clock minus ours, ms: proofs are dated on the server's clock, as it checks `iat`. */
  offset: number;
  key?: Promise<DpopKey> | null;
  nonces: Map<string, string>;
}

const text = new TextEncoder();

const base64url = (bytes: ArrayBuffer | Uint8Array): string =>
  btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");

const encoded = (value: object) => base64url(text.encode(JSON.stringify(value)));

/**
 * RFC 9449 §4.2: a proof for `htm` at `url` (its query and fragment left out of `htu`),
 * `iat` in seconds; with `accessToken`, its hash as `ath` (§4.2, for requests to APIs);
 * with `nonce`, the server's (§8). `alg` is ES256, the signature Web Crypto's raw r‖s,
 * as JWS wants it (RFC 7518 §3.4).
 */
export async function makeProof(
  key: DpopKey,
  htm: string,
  url: string,
  iat: number,
  nonce?: string,
  accessToken?: string,
): Promise<string> {
  const htu = new URL(url);
  htu.search = htu.hash = "";
  const payload = {
    jti: crypto.randomUUID(),
    htm,
    htu: htu.href,
    iat,
    // Members left undefined are left out by JSON.stringify.
    nonce,
    ath: accessToken ? base64url(await crypto.subtle.digest("SHA-256", text.encode(accessToken))) : undefined,
  };
  const input = `${encoded({ typ: DPOP_PROOF_TYP, alg: "ES256", jwk: key.jwk })}.${encoded(payload)}`;
  const signature = await crypto.subtle.sign(
    { name: "ECDSA", hash: "SHA-256" },
    key.pair.privateKey as CryptoKey,
    text.encode(input),
  );
  return `${input}.${base64url(signature)}`;
}

/** The client's key, loaded (or made) once; a failure is the `dpop_key_unavailable` error, tried again next time. */
function keyOf(s: Prover): Promise<DpopKey> {
  s.key ??= loadKey(s.o.dpop as DpopKeyStore, s.o.locks, `prolong-dpop:${s.o.issuer}`).catch((error) => {
    s.key = null;
    throw failure("dpop_key_unavailable", String(error));
  });
  return s.key;
}

/** A proof for a request to `url`, with the nonce its origin's server last gave. */
export async function prove(s: Prover, method: string, url: string, accessToken?: string): Promise<string> {
  const key = await keyOf(s);
  const iat = Math.floor((s.o.now() + s.offset) / 1000);
  return makeProof(key, method, url, iat, s.nonces.get(new URL(url).origin), accessToken);
}

/** Keeps the `DPoP-Nonce` a server answered with for its origin; true when there was one. */
export function rememberNonce(s: Prover, url: string, nonce: string | null | undefined): boolean {
  if (nonce) s.nonces.set(new URL(url).origin, nonce);
  return !!nonce;
}

/**
 * Whether an access token is bound to the client's key: its `cnf.jkt` (RFC 9449 §6.1)
 * says so, whoever got it (this tab, with the answer's `token_type` DPoP, or another).
 */
export const isBound = (claims: object | null): boolean =>
  !!(claims as { cnf?: { jkt?: string } } | null)?.cnf?.jkt;

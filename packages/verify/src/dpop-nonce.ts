/**
 * Stateless DPoP nonces for resource servers (RFC 9449 §9): a nonce is a MAC of the
 * current time window, so every instance that shares the secret hands out and accepts
 * the same nonces without talking to the others. The current and the previous window's
 * nonce are accepted, so a nonce handed out just before a window ends still works.
 * Web Crypto only, so it runs wherever the verifier does.
 */
import type { DpopNonces } from "./verifier.js";

export interface DpopNonceOptions {
  /** At least 32 bytes, shared by every instance behind one origin; never sent anywhere. */
  secret: string | Uint8Array;
  /** How long one nonce is handed out, in seconds; default 300. It is accepted for twice that. */
  windowSeconds?: number;
  /** Milliseconds since the epoch. */
  now?: () => number;
}

const encoder = new TextEncoder();

function base64url(bytes: ArrayBuffer): string {
  let binary = "";
  for (const byte of new Uint8Array(bytes)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Nonces that change every `windowSeconds`, the same on every instance with the secret. */
export function createDpopNonces(options: DpopNonceOptions): DpopNonces {
  const secret = typeof options.secret === "string" ? encoder.encode(options.secret) : options.secret;
  if (secret.length < 32) throw new TypeError("secret must be at least 32 bytes");
  const windowSeconds = options.windowSeconds ?? 300;
  if (!Number.isSafeInteger(windowSeconds) || windowSeconds < 1)
    throw new TypeError("windowSeconds must be a positive integer");
  const now = options.now ?? Date.now;
  const key = crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  /** The nonces of the last few windows: each is one MAC, computed once. */
  const known = new Map<number, Promise<string>>();

  function nonceOf(window: number): Promise<string> {
    let nonce = known.get(window);
    if (!nonce) {
      // The purpose is part of the MAC input, so the secret's MACs mean nothing elsewhere.
      nonce = key.then((k) =>
        crypto.subtle.sign("HMAC", k, encoder.encode(`prolong dpop nonce ${window}`)).then(base64url),
      );
      known.set(window, nonce);
      for (const old of known.keys()) if (old < window - 1) known.delete(old);
    }
    return nonce;
  }

  const windowNow = () => Math.floor(now() / 1000 / windowSeconds);
  return {
    current: () => nonceOf(windowNow()),
    async accepts(nonce) {
      const window = windowNow();
      return nonce === (await nonceOf(window)) || nonce === (await nonceOf(window - 1));
    },
  };
}

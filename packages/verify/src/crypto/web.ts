// Types only (erased): the DOM library is not in this package's compile, Node's copy of the types is.
import type { webcrypto } from "node:crypto";
import { MIN_RSA_KEY_BITS } from "@prolong/protocol";
import { decodeCanonical } from "../base64url.js";
import type { BackendAlg, CryptoBackend } from "./backend.js";

/** `fatal`: bad bytes are refused, not replaced; `ignoreBOM`: a BOM stays, and JSON parsing refuses it. */
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
/** UTF-8; the signing input is ASCII, so its bytes are its characters. */
const encoder = new TextEncoder();

/** The Web Crypto parameters of each algorithm's check (RFC 7518 §3, RFC 8037 §3.1). */
const PARAMETERS: Record<
  BackendAlg,
  webcrypto.AlgorithmIdentifier | webcrypto.EcdsaParams | webcrypto.RsaPssParams
> = {
  EdDSA: { name: "Ed25519" },
  // JWS carries R||S (RFC 7518 §3.4), which is also Web Crypto's ECDSA signature format.
  ES256: { name: "ECDSA", hash: "SHA-256" },
  RS256: { name: "RSASSA-PKCS1-v1_5" },
  // RFC 7518 §3.5: the salt is as long as the SHA-256 hash.
  PS256: { name: "RSA-PSS", saltLength: 32 },
  HS256: { name: "HMAC" },
};

/** Verification on Web Crypto (`crypto.subtle`), for runtimes without `node:crypto`. */
export const backend: CryptoBackend = {
  name: "web",

  async importKey(alg: BackendAlg, imported: object): Promise<webcrypto.CryptoKey> {
    if (imported instanceof Uint8Array) {
      return crypto.subtle.importKey("raw", imported, { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
    }
    const key = imported as webcrypto.CryptoKey;
    if (
      (alg === "RS256" || alg === "PS256") &&
      ((key.algorithm as webcrypto.RsaHashedKeyAlgorithm).modulusLength ?? 0) < MIN_RSA_KEY_BITS
    ) {
      throw new TypeError(`RSA keys must have at least ${MIN_RSA_KEY_BITS} bits`);
    }
    return key;
  },

  decodePart(part) {
    return decodeCanonical(part);
  },

  decodeUtf8(bytes) {
    try {
      return utf8.decode(bytes);
    } catch {
      return null;
    }
  },

  async sha256(text) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
  },

  verify(alg, key, signingInput, signature) {
    // HMAC verification in Web Crypto compares in constant time.
    return crypto.subtle.verify(
      PARAMETERS[alg],
      key as webcrypto.CryptoKey,
      signature,
      encoder.encode(signingInput),
    );
  },
};

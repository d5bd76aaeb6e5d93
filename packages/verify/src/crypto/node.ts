import { isUtf8 } from "node:buffer";
import {
  constants,
  createHash,
  createHmac,
  createSecretKey,
  verify as cryptoVerify,
  KeyObject,
  timingSafeEqual,
  type webcrypto,
} from "node:crypto";
import { MIN_RSA_KEY_BITS } from "@prolong/protocol";
import { decodeCanonical } from "../base64url.js";
import type { BackendAlg, CryptoBackend } from "./backend.js";

const allocate = (length: number) => Buffer.allocUnsafe(length);

/**
 * The same answer as `decodeCanonical`, from Node's decoder and a check that the bytes
 * encode back to `text`. Faster for HS256 tokens, whose check is a few microseconds of
 * HMAC that the native decode barely slows; for the signature algorithms the loop wins,
 * because a native base64 decode slows the check that follows (bench/verify.mjs, Node 20).
 */
function decodeNative(text: string): Buffer | null {
  const bytes = Buffer.from(text, "base64url");
  return bytes.toString("base64url") === text ? bytes : null;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Verification on `node:crypto`: synchronous, on the calling thread. */
export const backend: CryptoBackend = {
  name: "node",

  async importKey(alg: BackendAlg, imported: object): Promise<KeyObject> {
    const key =
      imported instanceof Uint8Array
        ? createSecretKey(imported)
        : KeyObject.from(imported as webcrypto.CryptoKey);
    if (
      (alg === "RS256" || alg === "PS256") &&
      (key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_KEY_BITS
    ) {
      throw new TypeError(`RSA keys must have at least ${MIN_RSA_KEY_BITS} bits`);
    }
    return key;
  },

  decodePart(part, alg) {
    return alg === "HS256" ? decodeNative(part) : decodeCanonical(part, allocate);
  },

  decodeUtf8(bytes) {
    const buffer = asBuffer(bytes);
    return isUtf8(buffer) ? buffer.toString("utf8") : null;
  },

  sha256(text) {
    return createHash("sha256").update(text, "utf8").digest();
  },

  verify(alg, key, signingInput, signature) {
    const keyObject = key as KeyObject;
    const sig = asBuffer(signature);
    // HMAC takes the text as it is (base64url and a dot: ASCII, so latin1 is its bytes).
    if (alg === "HS256") {
      return timingSafeEqual(createHmac("sha256", keyObject).update(signingInput, "latin1").digest(), sig);
    }
    const data = Buffer.from(signingInput, "latin1");
    switch (alg) {
      case "EdDSA":
        return cryptoVerify(null, data, keyObject, sig);
      case "ES256":
        // JWS carries R||S (RFC 7518 §3.4), not DER.
        return cryptoVerify("sha256", data, { key: keyObject, dsaEncoding: "ieee-p1363" }, sig);
      case "RS256":
        return cryptoVerify("sha256", data, keyObject, sig);
      case "PS256":
        // RFC 7518 §3.5: MGF1 with SHA-256 and a salt as long as the hash.
        return cryptoVerify(
          "sha256",
          data,
          { key: keyObject, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
          sig,
        );
    }
  },
};

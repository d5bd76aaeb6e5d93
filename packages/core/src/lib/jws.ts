/*
 * Compact JWS signing (RFC 7515) on node:crypto, for the four algorithms prolong
 * issues. Signing runs on every refresh; node:crypto signs on the calling thread,
 * where WebCrypto would first hop to the libuv thread pool (docs/architecture.md).
 */
import { createHmac, createSecretKey, KeyObject, sign } from "node:crypto";
import { MIN_HMAC_KEY_BYTES, MIN_RSA_KEY_BITS, type SigningAlg } from "@prolong/protocol";
import { ProlongError } from "../errors.js";
import type { RingKey } from "../keys.js";

/** The `alg` member is required (RFC 7515 §4.1.1) and decides how the key signs. */
export type JwsHeader = { readonly alg: SigningAlg } & Readonly<Record<string, unknown>>;

/**
 * A compact JWS signer (RFC 7515 §3.1, §7.1) for one header and key:
 * BASE64URL(UTF8(header)) "." BASE64URL(UTF8(payload)) "." BASE64URL(signature), the
 * signature taken over the ASCII of the first two parts (§5.1 step 5). The header is
 * encoded once, so a signer kept per key re-encodes only the payload. `key` comes from
 * {@link prepareSigningKey} for `header.alg`.
 */
export function compactJwsSigner(header: JwsHeader, key: KeyObject): (payload: object) => string {
  const encodedHeader = encodeJson(header);
  return (payload) => {
    const input = `${encodedHeader}.${encodeJson(payload)}`;
    return `${input}.${signature(header.alg, key, Buffer.from(input, "ascii")).toString("base64url")}`;
  };
}

function encodeJson(value: object): string {
  return Buffer.from(JSON.stringify(value), "utf8").toString("base64url");
}

function signature(alg: SigningAlg, key: KeyObject, data: Buffer): Buffer {
  switch (alg) {
    // RFC 8037 §3.1: Ed25519 signs the message itself; node takes no digest name for it.
    case "EdDSA":
      return sign(null, data, key);
    // RFC 7518 §3.4: R || S, 32 bytes each, not the DER form node emits by default.
    case "ES256":
      return sign("sha256", data, { key, dsaEncoding: "ieee-p1363" });
    // RFC 7518 §3.3: RSASSA-PKCS1-v1_5 with SHA-256, node's default padding for RSA keys.
    case "RS256":
      return sign("sha256", data, key);
    // RFC 7518 §3.2.
    case "HS256":
      return createHmac("sha256", key).update(data).digest();
  }
}

/**
 * Converts a ring key (a WebCrypto key, or the raw HS256 secret) into a node:crypto
 * key once, refusing one that does not fit `alg`: the wrong curve or type would sign
 * something no verifier of `alg` accepts, and short keys are too weak (RFC 7518 §3.2,
 * §3.3).
 */
export function prepareSigningKey(alg: SigningAlg, material: RingKey["signingKey"]): KeyObject {
  const key = material instanceof Uint8Array ? createSecretKey(material) : KeyObject.from(material);
  const details = key.asymmetricKeyDetails;
  const fits =
    alg === "HS256"
      ? key.type === "secret" && (key.symmetricKeySize ?? 0) >= MIN_HMAC_KEY_BYTES
      : key.type === "private" &&
        (alg === "EdDSA"
          ? key.asymmetricKeyType === "ed25519"
          : alg === "ES256"
            ? key.asymmetricKeyType === "ec" && details?.namedCurve === "prime256v1"
            : key.asymmetricKeyType === "rsa" && (details?.modulusLength ?? 0) >= MIN_RSA_KEY_BITS);
  if (!fits) throw new ProlongError("invalid_key", `the signing key does not fit ${alg}`);
  return key;
}

import type { DpopAlg, SigningAlg } from "@prolong/protocol";

/** The issuer's algorithms and those of DPoP proofs (RFC 9449 §4.2). */
export type BackendAlg = SigningAlg | DpopAlg;

/**
 * The runtime-specific half of verification: key import, decoding and the signature
 * check. Two implementations with one behaviour, picked by the package's `imports` map
 * (`#crypto`): `node:crypto` on Node, where it is several times faster per check, and
 * Web Crypto everywhere else (edge runtimes, Workers, Deno, browsers). The same test
 * cases run on both (docs/protocol.md, "Verifying access tokens").
 */
export interface CryptoBackend {
  /** Which implementation this is, for diagnostics and tests. */
  readonly name: "node" | "web";
  /**
   * A verification key for `alg` from what jose's `importJWK` made of a public JWK (a
   * `CryptoKey`, or the secret's bytes for HS256). Throws a `TypeError` for a key
   * prolong refuses (RSA under 2048 bits).
   */
  importKey(alg: BackendAlg, imported: object): Promise<object>;
  /** A token part's bytes, or null unless it is canonical base64url. */
  decodePart(part: string, alg: BackendAlg): Uint8Array | null;
  /** The UTF-8 text of `bytes`, or null when they are not UTF-8 (never replaced by U+FFFD). */
  decodeUtf8(bytes: Uint8Array): string | null;
  /** SHA-256 of the text's UTF-8 bytes (DPoP `ath`, RFC 7638 thumbprints); synchronous where the runtime allows. */
  sha256(text: string): Uint8Array | Promise<Uint8Array>;
  /**
   * Whether `signature` is `key`'s over the ASCII `signingInput`, the length already
   * checked. Synchronous where the runtime allows, so a verification of a known key
   * costs no promise on Node.
   */
  verify(
    alg: BackendAlg,
    key: object,
    signingInput: string,
    signature: Uint8Array,
  ): boolean | Promise<boolean>;
}

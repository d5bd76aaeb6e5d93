import { decodeBase64url, encodeBase64url } from "./lib/base64url.js";
import { equalBytes, hmacSha256, type MacKey, macKey, sha256Base64url } from "./lib/crypto.js";
import type { RandomSource } from "./random.js";

/*
 * Refresh token layout (68 bytes, 91 base64url characters, never a JWT):
 *
 *   sessionId (16) | generation (4, big-endian) | secret (32) | tag (16)
 *
 * - The session id makes lookup a primary-key read (O(1) on an index).
 * - The secret of generation 0 is 256 fresh random bits. Each successor's secret is
 *   HMAC(K, previous token), so replaying a rotated token recomputes the very same
 *   successor (P5) while the store keeps only hashes, never a plaintext token.
 * - The tag is HMAC(K, the rest). It proves the server minted the token, so a token
 *   of an older generation is certainly a replay of a real token (P4 reuse), while
 *   someone who only knows a session id (it is in every access token's `sid`) cannot
 *   forge one to get a stranger's session revoked.
 */

const SESSION_ID_BYTES = 16;
const GENERATION_BYTES = 4;
const SECRET_BYTES = 32;
const TAG_BYTES = 16;
const BODY_BYTES = SESSION_ID_BYTES + GENERATION_BYTES + SECRET_BYTES;
const TOKEN_BYTES = BODY_BYTES + TAG_BYTES;
const MAX_GENERATION = 0xffff_ffff;

const TAG_LABEL = Buffer.from("prolong refresh-token tag\0");
const NEXT_LABEL = Buffer.from("prolong refresh-token next\0");

/** A refresh token taken apart. Only produced by {@link RefreshTokenCodec}, after its tag checked out. */
export interface RefreshToken {
  /** The token as the client holds it. */
  readonly value: string;
  readonly sessionId: string;
  readonly generation: number;
  /** SHA-256 of the token, base64url: the only form a store ever sees. */
  readonly hash: string;
  readonly body: Uint8Array;
}

/**
 * Mints, checks and derives refresh tokens under one server secret. Synchronous: the
 * primitives are node:crypto's (src/lib/crypto.ts), which never leave the calling thread.
 */
export class RefreshTokenCodec {
  readonly #key: MacKey;
  /** Tokens this codec minted or authenticated; see {@link RefreshTokenCodec.vouches}. */
  readonly #genuine = new WeakSet<RefreshToken>();

  private constructor(key: MacKey) {
    this.#key = key;
  }

  /** `secret` is at least 32 random bytes, kept by the store (`claimSecret`). */
  static create(secret: Uint8Array): RefreshTokenCodec {
    if (secret.length < 32) throw new RangeError("refresh-token secret must be at least 256 bits");
    return new RefreshTokenCodec(macKey(secret));
  }

  /** The first token of a new session. */
  issue(sessionId: string, random: RandomSource): RefreshToken {
    const secret = random.bytes(SECRET_BYTES);
    if (secret.length !== SECRET_BYTES) throw new RangeError("random source returned too few bytes");
    return this.#seal(Buffer.concat([sessionIdBytes(sessionId), generationBytes(0), secret]));
  }

  /** The successor of `token`: deterministic, so a replay yields the same one. */
  next(token: RefreshToken): RefreshToken {
    if (token.generation >= MAX_GENERATION) throw new RangeError("refresh-token generation exhausted");
    const secret = hmacSha256(this.#key, NEXT_LABEL, token.body).subarray(0, SECRET_BYTES);
    const head = token.body.subarray(0, SESSION_ID_BYTES);
    return this.#seal(Buffer.concat([head, generationBytes(token.generation + 1), secret]));
  }

  /** Parses and authenticates a presented token; `null` for anything malformed or forged. */
  open(value: string): RefreshToken | null {
    // One spelling per token, so a token and its hash correspond one to one.
    const bytes = decodeBase64url(value, TOKEN_BYTES);
    if (!bytes) return null;
    const body = bytes.subarray(0, BODY_BYTES);
    const tag = bytes.subarray(BODY_BYTES);
    if (!equalBytes(tag, this.#tag(body))) return null;
    return this.#vouch(describe(value, body));
  }

  /**
   * True when `token` came from this codec (`open`, `issue`, `next`), so a caller may hand
   * a token it opened to the engine instead of the text. A look-alike object built
   * elsewhere is refused: an older generation counts as reuse and revokes the session
   * (P4), so only an authenticated token may ever reach the store.
   */
  vouches(token: RefreshToken): boolean {
    return this.#genuine.has(token);
  }

  #seal(body: Buffer): RefreshToken {
    return this.#vouch(describe(encodeBase64url(Buffer.concat([body, this.#tag(body)])), body));
  }

  #vouch(token: RefreshToken): RefreshToken {
    this.#genuine.add(token);
    return token;
  }

  #tag(body: Uint8Array): Buffer {
    return hmacSha256(this.#key, TAG_LABEL, body).subarray(0, TAG_BYTES);
  }
}

function describe(value: string, body: Buffer): RefreshToken {
  return {
    value,
    body,
    sessionId: encodeBase64url(body.subarray(0, SESSION_ID_BYTES)),
    generation: body.readUInt32BE(SESSION_ID_BYTES),
    hash: hashRefreshToken(value),
  };
}

/** SHA-256 of the token text. Its 256 random bits make a slow hash unnecessary. */
export function hashRefreshToken(value: string): string {
  return sha256Base64url(value);
}

function sessionIdBytes(sessionId: string): Buffer {
  const bytes = decodeBase64url(sessionId, SESSION_ID_BYTES);
  if (!bytes) throw new RangeError("session id must be 16 bytes, base64url");
  return bytes;
}

function generationBytes(generation: number): Buffer {
  const out = Buffer.alloc(GENERATION_BYTES);
  out.writeUInt32BE(generation);
  return out;
}

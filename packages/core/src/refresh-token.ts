import { base64url, type CryptoKey } from "jose";
import { concat, constantTimeEqualBytes, utf8 } from "./bytes.js";
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
const TOKEN_CHARS = Math.ceil((TOKEN_BYTES * 4) / 3);
const MAX_GENERATION = 0xffff_ffff;

const TAG_LABEL = utf8("prolong refresh-token tag\0");
const NEXT_LABEL = utf8("prolong refresh-token next\0");

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

/** Mints, checks and derives refresh tokens under one server secret. */
export class RefreshTokenCodec {
  readonly #key: CryptoKey;

  private constructor(key: CryptoKey) {
    this.#key = key;
  }

  /** `secret` is at least 32 random bytes, kept by the store (`claimSecret`). */
  static async create(secret: Uint8Array): Promise<RefreshTokenCodec> {
    if (secret.length < 32) throw new RangeError("refresh-token secret must be at least 256 bits");
    const key = await crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
    ]);
    return new RefreshTokenCodec(key);
  }

  /** The first token of a new session. */
  async issue(sessionId: string, random: RandomSource): Promise<RefreshToken> {
    const secret = random.bytes(SECRET_BYTES);
    if (secret.length !== SECRET_BYTES) throw new RangeError("random source returned too few bytes");
    return this.#seal(concat(sessionIdBytes(sessionId), generationBytes(0), secret));
  }

  /** The successor of `token`: deterministic, so a replay yields the same one. */
  async next(token: RefreshToken): Promise<RefreshToken> {
    if (token.generation >= MAX_GENERATION) throw new RangeError("refresh-token generation exhausted");
    const secret = (await this.#mac(NEXT_LABEL, token.body)).subarray(0, SECRET_BYTES);
    const head = token.body.subarray(0, SESSION_ID_BYTES);
    return this.#seal(concat(head, generationBytes(token.generation + 1), secret));
  }

  /** Parses and authenticates a presented token; `null` for anything malformed or forged. */
  async open(value: string): Promise<RefreshToken | null> {
    if (typeof value !== "string" || value.length !== TOKEN_CHARS || !/^[A-Za-z0-9_-]+$/.test(value))
      return null;
    let bytes: Uint8Array;
    try {
      bytes = base64url.decode(value);
    } catch {
      return null;
    }
    // Re-encoding must give the same text, so there is exactly one spelling per token.
    if (bytes.length !== TOKEN_BYTES || base64url.encode(bytes) !== value) return null;
    const body = bytes.subarray(0, BODY_BYTES);
    const tag = bytes.subarray(BODY_BYTES);
    const expected = (await this.#mac(TAG_LABEL, body)).subarray(0, TAG_BYTES);
    if (!constantTimeEqualBytes(tag, expected)) return null;
    return describe(value, body.slice());
  }

  async #seal(body: Uint8Array): Promise<RefreshToken> {
    const tag = (await this.#mac(TAG_LABEL, body)).subarray(0, TAG_BYTES);
    return describe(base64url.encode(concat(body, tag)), body);
  }

  async #mac(label: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
    return new Uint8Array(await crypto.subtle.sign("HMAC", this.#key, concat(label, data)));
  }
}

async function describe(value: string, body: Uint8Array): Promise<RefreshToken> {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  return {
    value,
    body,
    sessionId: base64url.encode(body.subarray(0, SESSION_ID_BYTES)),
    generation: view.getUint32(SESSION_ID_BYTES),
    hash: await hashRefreshToken(value),
  };
}

/** SHA-256 of the token text. Its 256 random bits make a slow hash unnecessary. */
export async function hashRefreshToken(value: string): Promise<string> {
  return base64url.encode(new Uint8Array(await crypto.subtle.digest("SHA-256", utf8(value))));
}

function sessionIdBytes(sessionId: string): Uint8Array {
  const bytes = base64url.decode(sessionId);
  if (bytes.length !== SESSION_ID_BYTES) throw new RangeError("session id must be 16 bytes, base64url");
  return bytes;
}

function generationBytes(generation: number): Uint8Array {
  const out = new Uint8Array(GENERATION_BYTES);
  new DataView(out.buffer).setUint32(0, generation);
  return out;
}

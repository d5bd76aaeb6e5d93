// scrypt is memory-hard and ships with Node; WebCrypto has no memory-hard KDF,
// so this one module of the core uses node:crypto.
import { randomBytes, scrypt } from "node:crypto";
import { ProlongError } from "./errors.js";
import { equalBytes } from "./lib/crypto.js";

export interface ScryptCost {
  /** CPU/memory cost, a power of two. */
  N: number;
  r: number;
  p: number;
}

/** 2^15 × 8 × 128 B = 32 MiB per hash, about 50–100 ms on one core. */
export const defaultScryptCost: ScryptCost = { N: 2 ** 15, r: 8, p: 1 };

const KEY_BYTES = 32;
const SALT_BYTES = 16;
/** Caps work per request; long "passwords" would only cost the server time. */
export const MAX_PASSWORD_LENGTH = 1024;
export const MIN_PASSWORD_LENGTH = 8;

function derive(password: string, salt: Buffer, cost: ScryptCost): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const maxmem = 256 * cost.N * cost.r * cost.p + 1024 * 1024;
    scrypt(password.normalize("NFKC"), salt, KEY_BYTES, { ...cost, maxmem }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

/** Throws `invalid_request` when a new password is unacceptable. */
export function checkNewPassword(password: unknown): asserts password is string {
  if (typeof password !== "string" || password.length < MIN_PASSWORD_LENGTH) {
    throw new ProlongError("invalid_request", `password must be at least ${MIN_PASSWORD_LENGTH} characters`);
  }
  if (password.length > MAX_PASSWORD_LENGTH) {
    throw new ProlongError("invalid_request", `password must be at most ${MAX_PASSWORD_LENGTH} characters`);
  }
}

/** Encodes as `scrypt$N$r$p$salt$key` (base64url), so the cost can rise later without breaking old hashes. */
export async function hashPassword(password: string, cost: ScryptCost = defaultScryptCost): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, cost);
  return ["scrypt", cost.N, cost.r, cost.p, salt.toString("base64url"), key.toString("base64url")].join("$");
}

/** Constant-time check of a password against an encoded hash; `false` for anything malformed. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  if (typeof password !== "string" || password.length > MAX_PASSWORD_LENGTH) return false;
  const [scheme, n, r, p, salt, key] = encoded.split("$");
  if (scheme !== "scrypt" || !salt || !key) return false;
  const cost = { N: Number(n), r: Number(r), p: Number(p) };
  if (![cost.N, cost.r, cost.p].every(Number.isSafeInteger)) return false;
  const expected = Buffer.from(key, "base64url");
  const actual = await derive(password, Buffer.from(salt, "base64url"), cost);
  return equalBytes(actual, expected);
}

/** Usernames compare case-insensitively and in one Unicode form. */
export function normalizeUsername(username: unknown): string {
  if (typeof username !== "string") throw new ProlongError("invalid_request", "username must be a string");
  const name = username.normalize("NFKC").trim().toLowerCase();
  if (!/^[\p{L}\p{N}._@+-]{1,128}$/u.test(name)) {
    throw new ProlongError(
      "invalid_request",
      "username must be 1 to 128 letters, digits or . _ @ + - characters",
    );
  }
  return name;
}

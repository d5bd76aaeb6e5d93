import type { StoredKey } from "../keys.js";
import { nullable, type SqlRow, type SqlValue } from "./dialect.js";

/** The columns of `signing_keys`. */
export const KEY_COLUMNS = [
  "kid",
  "alg",
  "private_key",
  "public_jwk",
  "created_at",
  "activated_at",
  "retired_at",
] as const;

export function keyFromRow(row: SqlRow): StoredKey {
  return {
    kid: row.kid as string,
    alg: row.alg as string,
    privateKey: row.private_key as string,
    publicJwk: nullable<string>(row.public_jwk),
    createdAt: row.created_at as number,
    activatedAt: nullable<number>(row.activated_at),
    retiredAt: nullable<number>(row.retired_at),
  };
}

/** The values of a key's row, one per {@link KEY_COLUMNS}. */
export function keyToRow(key: StoredKey): Record<(typeof KEY_COLUMNS)[number], SqlValue> {
  return {
    kid: key.kid,
    alg: key.alg,
    private_key: key.privateKey,
    public_jwk: key.publicJwk,
    created_at: key.createdAt,
    activated_at: key.activatedAt,
    retired_at: key.retiredAt,
  };
}

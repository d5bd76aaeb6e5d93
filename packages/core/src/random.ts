import { encodeBase64url } from "./lib/base64url.js";

/** Injected source of randomness; production uses the platform CSPRNG. */
export interface RandomSource {
  bytes(length: number): Uint8Array;
}

export const cryptoRandom: RandomSource = {
  bytes(length) {
    return crypto.getRandomValues(new Uint8Array(length));
  },
};

const ID_BYTES = 16;
/** 256 ids per draw from the CSPRNG. */
const ID_POOL_BYTES = 256 * ID_BYTES;
const idPool = new Uint8Array(ID_POOL_BYTES);
let idPoolUsed = ID_POOL_BYTES;

/**
 * 16 bytes for an id from {@link cryptoRandom}, drawn in blocks: every refresh mints a
 * `jti`, and one CSPRNG call per id cost more than the rest of making it. Each byte is
 * handed out once, and the block is drawn afresh when spent. Only ids come from the
 * block: they are public (`sid`, `jti` and `sub` travel in every access token); secrets
 * (refresh-token secrets, keys) take `bytes` straight from the CSPRNG.
 */
function pooledIdBytes(): Uint8Array {
  if (idPoolUsed === ID_POOL_BYTES) {
    crypto.getRandomValues(idPool);
    idPoolUsed = 0;
  }
  idPoolUsed += ID_BYTES;
  return idPool.slice(idPoolUsed - ID_BYTES, idPoolUsed);
}

/** A random identifier: 128 bits, base64url, for session ids, user ids and `jti`. */
export function randomId(random: RandomSource = cryptoRandom): string {
  return encodeBase64url(random === cryptoRandom ? pooledIdBytes() : random.bytes(ID_BYTES));
}

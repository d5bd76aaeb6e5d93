import { base64url } from "jose";

/** Injected source of randomness; production uses the platform CSPRNG. */
export interface RandomSource {
  bytes(length: number): Uint8Array;
}

export const cryptoRandom: RandomSource = {
  bytes(length) {
    return crypto.getRandomValues(new Uint8Array(length));
  },
};

/** A random identifier: 128 bits, base64url, for session ids, user ids and `jti`. */
export function randomId(random: RandomSource = cryptoRandom): string {
  return base64url.encode(random.bytes(16));
}

import {
  base64url,
  type CryptoKey,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
} from "jose";
import { utf8 } from "./bytes.js";
import type { Clock } from "./clock.js";
import { ProlongError } from "./errors.js";
import { cryptoRandom, type RandomSource } from "./random.js";
import type { SessionStore, StoredKey } from "./store.js";

/** Signing algorithms prolong issues (docs/protocol.md). EdDSA means Ed25519. */
export type SigningAlg = "EdDSA" | "ES256" | "RS256" | "HS256";
export const signingAlgs: readonly SigningAlg[] = ["EdDSA", "ES256", "RS256", "HS256"];

/** HMAC keys shorter than the hash output weaken HS256 (RFC 7518 §3.2). */
const MIN_HMAC_BYTES = 32;
const ENVELOPE_PREFIX = "enc:v1:";

/** One key of the ring, imported once and reused for every signature. */
export interface RingKey {
  readonly kid: string;
  readonly alg: SigningAlg;
  readonly signingKey: CryptoKey | Uint8Array;
  readonly verificationKey: CryptoKey | Uint8Array;
  /** Public JWK with `kid`, `alg`, `use`; `null` for HS256, whose secret is never published. */
  readonly publicJwk: JWK | null;
  readonly createdAt: number;
  readonly retiredAt: number | null;
}

export interface KeyRingOptions {
  store: SessionStore;
  clock: Clock;
  /** Algorithm of newly generated keys. Default EdDSA. */
  alg?: SigningAlg;
  /** Seconds a retired key stays verifiable: at least the longest access-token lifetime. */
  retainFor: number;
  /** When set, private keys are stored encrypted (AES-256-GCM) under a key derived from it. */
  encryptionSecret?: string;
  random?: RandomSource;
}

/**
 * The signing keys: one active key that signs, the retired ones kept for
 * verification until every token they signed has expired, all persisted
 * in the store so that every server instance signs and publishes the same set.
 */
export class KeyRing {
  readonly #options: KeyRingOptions & { alg: SigningAlg; random: RandomSource };
  readonly #wrapKey: Promise<CryptoKey> | null;
  #keys: RingKey[] = [];

  private constructor(options: KeyRingOptions) {
    this.#options = { alg: "EdDSA", random: cryptoRandom, ...options };
    if (!signingAlgs.includes(this.#options.alg)) {
      throw new ProlongError(
        "invalid_config",
        `alg: "${this.#options.alg}" is not one of ${signingAlgs.join(", ")}`,
      );
    }
    this.#wrapKey = options.encryptionSecret === undefined ? null : deriveWrapKey(options.encryptionSecret);
  }

  /** Loads the stored keys; generates and stores the first key (or one of a newly configured alg). */
  static async load(options: KeyRingOptions): Promise<KeyRing> {
    const ring = new KeyRing(options);
    await ring.reload();
    const active = ring.#keys.find((k) => k.retiredAt === null);
    if (!active || active.alg !== ring.#options.alg) await ring.rotate();
    return ring;
  }

  /** The key that signs new tokens: the newest unretired one. */
  get active(): RingKey {
    const key = this.#keys.find((k) => k.retiredAt === null);
    if (!key) throw new ProlongError("invalid_key", "the key ring has no active key");
    return key;
  }

  /** Every key that may still verify a token, newest first. */
  get keys(): readonly RingKey[] {
    return this.#keys;
  }

  find(kid: string): RingKey | undefined {
    return this.#keys.find((k) => k.kid === kid);
  }

  /** RFC 7517 JWK Set of the public keys. Never contains `d` or an HMAC secret. */
  jwks(): { keys: JWK[] } {
    return { keys: this.#keys.flatMap((k) => (k.publicJwk ? [{ ...k.publicJwk }] : [])) };
  }

  /** Re-reads the store, so keys rotated by another instance are picked up. */
  async reload(): Promise<void> {
    const horizon = this.#options.clock.now() - this.#options.retainFor * 1000;
    const stored = await this.#options.store.listKeys();
    const live = stored.filter((k) => k.retiredAt === null || k.retiredAt > horizon);
    const keys = await Promise.all(live.map((k) => this.#import(k)));
    // Signing key first, then newest first; createdAt alone ties when rotations share a millisecond.
    this.#keys = keys.sort(
      (a, b) => Number(a.retiredAt !== null) - Number(b.retiredAt !== null) || b.createdAt - a.createdAt,
    );
  }

  /** Generates a new active key and retires the previous ones; returns the new key. */
  async rotate(secret?: Uint8Array): Promise<RingKey> {
    const now = this.#options.clock.now();
    const stored = await this.#generate(now, secret);
    await this.#options.store.putKey(stored);
    for (const key of this.#keys)
      if (key.retiredAt === null) await this.#options.store.retireKey(key.kid, now);
    await this.reload();
    return this.find(stored.kid) as RingKey;
  }

  /** Deletes keys retired long enough ago that no token they signed can still be valid. */
  async prune(): Promise<string[]> {
    const horizon = this.#options.clock.now() - this.#options.retainFor * 1000;
    const removed: string[] = [];
    for (const key of await this.#options.store.listKeys()) {
      if (
        key.retiredAt !== null &&
        key.retiredAt <= horizon &&
        (await this.#options.store.deleteKey(key.kid))
      ) {
        removed.push(key.kid);
      }
    }
    await this.reload();
    return removed;
  }

  async #generate(now: number, secret?: Uint8Array): Promise<StoredKey> {
    const alg = this.#options.alg;
    let privateJwk: JWK;
    let publicJwk: JWK | null;
    if (alg === "HS256") {
      const bytes = secret ?? this.#options.random.bytes(MIN_HMAC_BYTES);
      if (bytes.length < MIN_HMAC_BYTES) {
        throw new ProlongError("invalid_key", `HS256 secrets must be at least ${MIN_HMAC_BYTES * 8} bits`);
      }
      privateJwk = { kty: "oct", k: base64url.encode(bytes) };
      publicJwk = null;
    } else {
      const pair = await generateKeyPair(alg, {
        extractable: true,
        ...(alg === "EdDSA" ? { crv: "Ed25519" } : {}),
      });
      privateJwk = await exportJWK(pair.privateKey);
      publicJwk = await exportJWK(pair.publicKey);
    }
    // RFC 7638 thumbprint: the kid follows from the key, so two instances agree on it.
    const kid = await calculateJwkThumbprint(publicJwk ?? privateJwk);
    const privateText = JSON.stringify({ ...privateJwk, kid, alg });
    return {
      kid,
      alg,
      privateKey: this.#wrapKey ? await seal(await this.#wrapKey, privateText, kid) : privateText,
      publicJwk: publicJwk ? JSON.stringify({ ...publicJwk, kid, alg, use: "sig" }) : null,
      createdAt: now,
      retiredAt: null,
    };
  }

  async #import(stored: StoredKey): Promise<RingKey> {
    const alg = stored.alg as SigningAlg;
    let privateText = stored.privateKey;
    if (privateText.startsWith(ENVELOPE_PREFIX)) {
      if (!this.#wrapKey) {
        throw new ProlongError("invalid_config", "stored keys are encrypted: set the key encryption secret");
      }
      privateText = await open(await this.#wrapKey, privateText, stored.kid);
    }
    const privateJwk = JSON.parse(privateText) as JWK;
    const signingKey = await importJWK(privateJwk, alg);
    const publicJwk = stored.publicJwk === null ? null : (JSON.parse(stored.publicJwk) as JWK);
    const verificationKey = publicJwk ? await importJWK(publicJwk, alg) : signingKey;
    return {
      kid: stored.kid,
      alg,
      signingKey,
      verificationKey,
      publicJwk,
      createdAt: stored.createdAt,
      retiredAt: stored.retiredAt,
    };
  }
}

async function deriveWrapKey(secret: string): Promise<CryptoKey> {
  if (secret.length < 16)
    throw new ProlongError("invalid_config", "key encryption secret must be at least 16 characters");
  const material = await crypto.subtle.importKey("raw", utf8(secret), "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: utf8("prolong key wrap v1") },
    material,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

// The kid is bound as additional data, so an envelope cannot be moved to another key's row.
async function seal(key: CryptoKey, text: string, kid: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: utf8(kid) },
    key,
    utf8(text),
  );
  return `${ENVELOPE_PREFIX}${base64url.encode(iv)}.${base64url.encode(new Uint8Array(sealed))}`;
}

async function open(key: CryptoKey, envelope: string, kid: string): Promise<string> {
  const [iv, data] = envelope.slice(ENVELOPE_PREFIX.length).split(".");
  try {
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: base64url.decode(iv ?? ""), additionalData: utf8(kid) },
      key,
      base64url.decode(data ?? ""),
    );
    return new TextDecoder().decode(plain);
  } catch (cause) {
    throw new ProlongError("invalid_config", `key ${kid} cannot be decrypted with the configured secret`, {
      cause,
    });
  }
}

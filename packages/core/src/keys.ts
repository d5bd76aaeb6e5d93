import { MIN_HMAC_KEY_BYTES, SIGNING_ALGS, type SigningAlg } from "@prolong/protocol";
import {
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
import { decodeBase64url, encodeBase64url } from "./lib/base64url.js";
import { cryptoRandom, type RandomSource } from "./random.js";
import type { KeyStore, PrivateKeyChange, StoredKey } from "./store/index.js";

const ENVELOPE_PREFIX = "enc:v1:";

/** Where a key is in its life: published ahead of use, signing, or only verifying. */
export type KeyState = "next" | "active" | "retired";

/** One key of the ring, imported once and reused for every signature. */
export interface RingKey {
  readonly kid: string;
  readonly alg: SigningAlg;
  readonly state: KeyState;
  readonly signingKey: CryptoKey | Uint8Array;
  readonly verificationKey: CryptoKey | Uint8Array;
  /** Public JWK with `kid`, `alg`, `use`; `null` for HS256, whose secret is never published. */
  readonly publicJwk: JWK | null;
  readonly createdAt: number;
  readonly activatedAt: number | null;
  readonly retiredAt: number | null;
}

export interface KeyRingOptions {
  /** Where keys live: the store's key concern (`store.keys`). */
  store: KeyStore;
  clock: Clock;
  /** Algorithm of newly generated keys. Default EdDSA. */
  alg?: SigningAlg;
  /** Seconds a retired key stays verifiable: at least the longest access-token lifetime. */
  retainFor: number;
  /**
   * Seconds a next key must have been published before it may sign: the JWKS `max-age`
   * verifiers may cache the key set for, plus the time servers take to reload the ring
   * and the clock skew between them. Default {@link publishAheadFor} the default max-age.
   */
  publishAhead?: number;
  /**
   * When set, private keys are stored sealed (AES-256-GCM) under a key derived from it,
   * those stored before it was set included ({@link KeyRing.load}). Unset while the store
   * holds sealed keys, the ring refuses to load.
   */
  keyEncryptionKey?: string;
  random?: RandomSource;
}

/** The JWKS `max-age` verifiers are told when none is configured, in seconds. */
export const DEFAULT_JWKS_MAX_AGE = 300;

/**
 * Seconds a next key is published before it may sign (docs/protocol.md, "Key
 * publication"): the JWKS max-age, plus 5 s for every server to reload the ring (it does
 * every 2 s) and for skew between the clock that wrote the key's `createdAt` and the one
 * that reads it. The one rule, for the server's setting and the ring's default alike.
 */
export function publishAheadFor(jwksMaxAge: number): number {
  return jwksMaxAge + 5;
}

/** The parts of a key that never change for its kid, imported once. */
interface ImportedKey {
  signingKey: CryptoKey | Uint8Array;
  verificationKey: CryptoKey | Uint8Array;
  publicJwk: JWK | null;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The signing keys (docs/protocol.md, "Key publication"): one active key that signs;
 * one next key, published in the JWKS for at least its `max-age` before it ever signs,
 * so a verifier holding a cached key set already knows the key of the first token signed
 * after a rotation; and the retired keys, kept for verification until every token they
 * signed has expired. All persisted in the store, so every instance signs and publishes
 * the same set, and rotations racing between instances settle in the store.
 */
export class KeyRing {
  readonly #options: KeyRingOptions & { alg: SigningAlg; random: RandomSource; publishAhead: number };
  readonly #wrapKey: Promise<CryptoKey> | null;
  readonly #imported = new Map<string, Promise<ImportedKey>>();
  #keys: RingKey[] = [];

  private constructor(options: KeyRingOptions) {
    this.#options = {
      alg: "EdDSA",
      random: cryptoRandom,
      publishAhead: publishAheadFor(DEFAULT_JWKS_MAX_AGE),
      ...options,
    };
    if (!SIGNING_ALGS.includes(this.#options.alg)) {
      throw new ProlongError(
        "invalid_config",
        `alg: "${this.#options.alg}" is not one of ${SIGNING_ALGS.join(", ")}`,
      );
    }
    this.#wrapKey = options.keyEncryptionKey === undefined ? null : deriveWrapKey(options.keyEncryptionKey);
  }

  /**
   * Loads the stored keys. On first start it creates both the active key and the next
   * one; afterwards it makes sure a next key of the configured algorithm is published.
   *
   * With a key-encryption key, keys stored in plain text (before it was set) are
   * sealed first, all in one store operation, so a copy of the store taken from then on
   * holds no usable private key. Without one, sealed keys are refused with
   * `invalid_config` saying how to go on: silently making new keys would sign tokens no
   * verifier has been shown.
   */
  static async load(options: KeyRingOptions): Promise<KeyRing> {
    const ring = new KeyRing(options);
    await ring.#sealStored();
    await ring.#complete();
    return ring;
  }

  /**
   * Stores every sealed private key in plain text again, in one store operation, so the
   * key-encryption key can then be removed; returns how many it opened. An instance that
   * still has the key-encryption key seals them again when it starts, and seals the keys it makes.
   */
  async unseal(): Promise<number> {
    return this.#replaceStored(async (key, wrapKey) =>
      wrapKey && isSealed(key.privateKey) ? open(wrapKey, key.privateKey, key.kid) : null,
    );
  }

  /** The key that signs new tokens. */
  get active(): RingKey {
    const key = this.#keys.find((k) => k.state === "active");
    if (!key) throw new ProlongError("invalid_key", "the key ring has no active key");
    return key;
  }

  /** The key the next rotation promotes, published already; `null` until one is stored. */
  get next(): RingKey | null {
    return this.#nextKeys()[0] ?? null;
  }

  /** Every key that may verify a token: active, next, then retired ones, newest first. */
  get keys(): readonly RingKey[] {
    return this.#keys;
  }

  /**
   * A key by kid, the next key included: another instance may have promoted it and
   * signed with it before this one reloads.
   */
  find(kid: string): RingKey | undefined {
    return this.#keys.find((k) => k.kid === kid);
  }

  /**
   * RFC 7517 JWK Set: next, active and unexpired retired keys. Never contains `d` or
   * an HMAC secret.
   */
  jwks(): { keys: JWK[] } {
    return { keys: this.#keys.flatMap((k) => (k.publicJwk ? [{ ...k.publicJwk }] : [])) };
  }

  /**
   * The JWK a verifier configured with keys up front needs: the public JWK, or for
   * HS256 the shared secret itself (never published; handed to resource servers by hand).
   */
  verificationJwk(kid: string): JWK | null {
    const key = this.find(kid);
    if (!key) return null;
    if (key.publicJwk) return { ...key.publicJwk };
    return {
      kty: "oct",
      k: encodeBase64url(key.verificationKey as Uint8Array),
      kid,
      alg: key.alg,
      use: "sig",
    };
  }

  /** When the next key may sign without `force`; `null` when there is no next key. */
  rotationPossibleAt(): number | null {
    const next = this.next;
    return next === null ? null : next.createdAt + this.#options.publishAhead * 1000;
  }

  /** Re-reads the store, so keys rotated by another instance or the CLI are picked up. */
  async reload(): Promise<void> {
    const horizon = this.#options.clock.now() - this.#options.retainFor * 1000;
    const stored = (await this.#options.store.listKeys()).filter(
      (k) => k.retiredAt === null || k.retiredAt > horizon,
    );
    for (const kid of this.#imported.keys())
      if (!stored.some((k) => k.kid === kid)) this.#imported.delete(kid);
    const keys = await Promise.all(stored.map((k) => this.#import(k)));
    const rank: Record<KeyState, number> = { active: 0, next: 1, retired: 2 };
    // Active first, next keys oldest first (the order of promotion), retired ones newest first.
    this.#keys = keys.sort(
      (a, b) =>
        rank[a.state] - rank[b.state] ||
        (a.state === "next" ? a.createdAt - b.createdAt : b.createdAt - a.createdAt) ||
        (a.kid < b.kid ? -1 : 1),
    );
  }

  /**
   * Promotes the next key to active, retires the active one, and publishes a new next
   * key. Refused with `rotation_too_early` until the next key has been published for
   * `publishAhead` seconds, unless `force` (a compromised key): forcing costs verifiers
   * whose cached JWKS predates the next key a refetch, and their callers a refusal
   * until then. Refused with `conflict` when another rotation won a race.
   */
  async rotate(options: { force?: boolean } = {}): Promise<RingKey> {
    await this.#complete();
    const next = this.next as RingKey;
    const now = this.#options.clock.now();
    const possibleAt = this.rotationPossibleAt() as number;
    if (!options.force && now < possibleAt) {
      const wait = Math.ceil((possibleAt - now) / 1000);
      throw new ProlongError(
        "rotation_too_early",
        `the next key ${next.kid} has been published only since ${iso(next.createdAt)}, and verifiers ` +
          `may still hold a key set fetched before it: rotation is possible from ${iso(possibleAt)} ` +
          `(in ${wait} s). Forcing it now makes verifiers whose cached key set predates ` +
          `${iso(next.createdAt)} refuse new tokens until they fetch the key set again.`,
      );
    }
    const active = this.#keys.find((k) => k.state === "active");
    const promoted = await this.#options.store.promoteKey({
      next: next.kid,
      active: active?.kid ?? null,
      now,
    });
    if (!promoted) {
      await this.reload();
      throw new ProlongError(
        "conflict",
        `another rotation happened at the same time; the active key is now ${this.active.kid}`,
      );
    }
    await this.#complete();
    return this.active;
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

  /** Seals the keys stored in plain text, or refuses sealed keys when there is no key-encryption key. */
  async #sealStored(): Promise<void> {
    if (!this.#wrapKey) {
      const sealed = (await this.#options.store.listKeys()).filter((k) => isSealed(k.privateKey));
      if (sealed.length > 0) throw sealedWithoutSecret(sealed.length);
      return;
    }
    await this.#replaceStored(async (key, wrapKey) =>
      wrapKey && !isSealed(key.privateKey) ? seal(wrapKey, key.privateKey, key.kid) : null,
    );
  }

  /**
   * Replaces the private keys `change` gives a new text for (`null`: left as it is), all
   * at once; when another instance changed or deleted one in between, reads them again.
   */
  async #replaceStored(
    change: (key: StoredKey, wrapKey: CryptoKey | null) => Promise<string | null>,
  ): Promise<number> {
    const store = this.#options.store;
    const wrapKey = this.#wrapKey ? await this.#wrapKey : null;
    // Each retry follows another instance's change; a handful of them is a store that
    // keeps changing under us, not a race.
    for (let attempt = 1; ; attempt++) {
      const changes: PrivateKeyChange[] = [];
      for (const key of await store.listKeys()) {
        const to = await change(key, wrapKey);
        if (to !== null) changes.push({ kid: key.kid, from: key.privateKey, to });
      }
      // The key material itself is unchanged, so what #import holds stays good.
      if (changes.length === 0 || (await store.replacePrivateKeys(changes))) return changes.length;
      if (attempt === 5)
        throw new ProlongError(
          "conflict",
          "the stored signing keys kept changing while they were re-encrypted",
        );
    }
  }

  /** Next keys of the configured algorithm, oldest first. */
  #nextKeys(): RingKey[] {
    return this.#keys.filter((k) => k.state === "next" && k.alg === this.#options.alg);
  }

  /**
   * Brings the ring to its shape: an active key and a next key of the configured
   * algorithm. Instances racing here may each store a next key (both are published and
   * the oldest is promoted first) but never two active ones: `promoteKey` settles that.
   */
  async #complete(): Promise<void> {
    const store = this.#options.store;
    await this.reload();
    // A next key of another algorithm (the configuration changed) never signed: drop it
    // rather than publish it forever.
    for (const key of this.#keys)
      if (key.state === "next" && key.alg !== this.#options.alg) await store.deleteKey(key.kid);
    if (this.#nextKeys().length === 0) {
      await store.putKey(await this.#generate(this.#options.clock.now()));
      await this.reload();
    }
    if (!this.#keys.some((k) => k.state === "active")) {
      // First start: nothing was ever published, so no verifier can hold a stale key set.
      const next = this.#nextKeys()[0] as RingKey;
      await store.promoteKey({ next: next.kid, active: null, now: this.#options.clock.now() });
      await this.reload();
      if (this.#nextKeys().length === 0) {
        await store.putKey(await this.#generate(this.#options.clock.now()));
        await this.reload();
      }
    }
  }

  async #generate(now: number): Promise<StoredKey> {
    const alg = this.#options.alg;
    let privateJwk: JWK;
    let publicJwk: JWK | null;
    if (alg === "HS256") {
      privateJwk = { kty: "oct", k: encodeBase64url(this.#options.random.bytes(MIN_HMAC_KEY_BYTES)) };
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
      activatedAt: null,
      retiredAt: null,
    };
  }

  async #import(stored: StoredKey): Promise<RingKey> {
    // Key material never changes for a kid (it is the key's thumbprint), so a reload
    // every few seconds costs one query, not a decryption and an import per key.
    let imported = this.#imported.get(stored.kid);
    if (!imported) {
      imported = this.#importMaterial(stored);
      this.#imported.set(stored.kid, imported);
      imported.catch(() => this.#imported.delete(stored.kid));
    }
    const material = await imported;
    return {
      kid: stored.kid,
      alg: stored.alg as SigningAlg,
      state: stored.retiredAt !== null ? "retired" : stored.activatedAt !== null ? "active" : "next",
      ...material,
      createdAt: stored.createdAt,
      activatedAt: stored.activatedAt,
      retiredAt: stored.retiredAt,
    };
  }

  async #importMaterial(stored: StoredKey): Promise<ImportedKey> {
    const alg = stored.alg as SigningAlg;
    let privateText = stored.privateKey;
    if (isSealed(privateText)) {
      if (!this.#wrapKey) throw sealedWithoutSecret(1);
      privateText = await open(await this.#wrapKey, privateText, stored.kid);
    }
    const privateJwk = JSON.parse(privateText) as JWK;
    const signingKey = await importJWK(privateJwk, alg);
    const publicJwk = stored.publicJwk === null ? null : (JSON.parse(stored.publicJwk) as JWK);
    const verificationKey = publicJwk ? await importJWK(publicJwk, alg) : signingKey;
    return { signingKey, verificationKey, publicJwk };
  }
}

const isSealed = (privateKey: string) => privateKey.startsWith(ENVELOPE_PREFIX);

function sealedWithoutSecret(count: number): ProlongError {
  return new ProlongError(
    "invalid_config",
    `${count} stored signing key${count === 1 ? " is" : "s are"} sealed with a key-encryption key, and none is set: ` +
      "set keyEncryptionKey (PROLONG_KEY_ENCRYPTION_KEY) to the one they were sealed with; to stop using one, " +
      "run `prolong keys unseal` with it still set, then remove it",
  );
}

async function deriveWrapKey(secret: string): Promise<CryptoKey> {
  if (secret.length < 16)
    throw new ProlongError("invalid_config", "keyEncryptionKey: must be at least 16 characters");
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
  return `${ENVELOPE_PREFIX}${encodeBase64url(iv)}.${encodeBase64url(new Uint8Array(sealed))}`;
}

async function open(key: CryptoKey, envelope: string, kid: string): Promise<string> {
  const [ivText, dataText] = envelope.slice(ENVELOPE_PREFIX.length).split(".");
  try {
    const iv = decodeBase64url(ivText ?? "", 12);
    const data = decodeBase64url(dataText ?? "");
    if (!iv || !data) throw new Error("the envelope is not canonical base64url");
    const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv, additionalData: utf8(kid) }, key, data);
    return new TextDecoder().decode(plain);
  } catch (cause) {
    throw new ProlongError(
      "invalid_config",
      `key ${kid} cannot be decrypted with the configured keyEncryptionKey`,
      {
        cause,
      },
    );
  }
}

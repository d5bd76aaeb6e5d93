/** Signing keys and server secrets (store/index.ts states the rules all operations follow). */

/**
 * A signing or verification key as stored. A key is *next* (published, never signed),
 * then *active* (signs), then *retired* (verifies until its tokens expire); see
 * docs/protocol.md, "Key publication".
 */
export interface StoredKey {
  kid: string;
  alg: string;
  /** Private key material: a JWK as JSON, or an encrypted envelope of it. */
  privateKey: string;
  /** Public JWK as JSON; `null` for symmetric keys, which are never published. */
  publicJwk: string | null;
  /** When the key was stored, which is when servers start to publish it. */
  createdAt: number;
  /** When the key began to sign; `null` while it is the next key. */
  activatedAt: number | null;
  /** When a newer key took over; `null` while the key is next or active. */
  retiredAt: number | null;
}

/** Asks `promoteKey` to make `next` the signing key in place of `active`. */
export interface KeyPromotion {
  /** The next key to activate. */
  next: string;
  /** The key the caller saw active, `null` when it saw none (first start). */
  active: string | null;
  now: number;
}

/** Asks `replacePrivateKeys` to store `to` as the private key of `kid` in place of `from`. */
export interface PrivateKeyChange {
  kid: string;
  /** The private key the caller read: the change applies only while the key still holds it. */
  from: string;
  to: string;
}

export interface KeyStore {
  /** Inserts a key; `false` if its kid exists already. */
  putKey(key: StoredKey): Promise<boolean>;
  listKeys(): Promise<StoredKey[]>;
  /**
   * Key rotation in one atomic step: when `next` is a next key and the active key is
   * still `active` (or there is none and `active` is `null`), activates `next` at `now`
   * and retires every active key at `now`. Returns `false`, changing nothing, when
   * another instance rotated first: two rotations racing never leave two active keys.
   */
  promoteKey(promotion: KeyPromotion): Promise<boolean>;
  deleteKey(kid: string): Promise<boolean>;
  /**
   * Private-key material replaced in one atomic step: when every key named still holds
   * its `from`, each gets its `to`; otherwise returns `false`, changing nothing (another
   * instance changed or deleted one first). Sealing the keys stored before a
   * key-encryption key was set, or opening them before it is removed, so two instances
   * starting together never write plain text over an envelope or leave a mix neither
   * wrote. Nothing else of a key changes; an empty list is `true`.
   */
  replacePrivateKeys(changes: readonly PrivateKeyChange[]): Promise<boolean>;
  /**
   * Returns the secret stored under `name`, storing `candidate` first if there is none.
   * Atomic, so instances starting together agree on one value.
   */
  claimSecret(name: string, candidate: string): Promise<string>;
}

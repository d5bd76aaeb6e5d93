import type { KeyPromotion, KeyStore, PrivateKeyChange, StoredKey } from "@prolong/core";

/** Signing keys and server secrets in process memory. */
export class MemoryKeyStore implements KeyStore {
  readonly #keys = new Map<string, StoredKey>();
  readonly #secrets = new Map<string, string>();

  async putKey(key: StoredKey): Promise<boolean> {
    if (this.#keys.has(key.kid)) return false;
    this.#keys.set(key.kid, { ...key });
    return true;
  }

  async listKeys(): Promise<StoredKey[]> {
    return [...this.#keys.values()]
      .sort((a, b) => a.createdAt - b.createdAt || (a.kid < b.kid ? -1 : a.kid > b.kid ? 1 : 0))
      .map((k) => ({ ...k }));
  }

  async promoteKey(promotion: KeyPromotion): Promise<boolean> {
    const next = this.#keys.get(promotion.next);
    if (!next || next.activatedAt !== null || next.retiredAt !== null) return false;
    const active = [...this.#keys.values()].filter((k) => k.activatedAt !== null && k.retiredAt === null);
    const seen = promotion.active;
    if (seen === null ? active.length > 0 : !active.some((k) => k.kid === seen)) return false;
    for (const key of active) key.retiredAt = promotion.now;
    next.activatedAt = promotion.now;
    return true;
  }

  async deleteKey(kid: string): Promise<boolean> {
    return this.#keys.delete(kid);
  }

  async replacePrivateKeys(changes: readonly PrivateKeyChange[]): Promise<boolean> {
    if (!changes.every((c) => this.#keys.get(c.kid)?.privateKey === c.from)) return false;
    for (const change of changes) (this.#keys.get(change.kid) as StoredKey).privateKey = change.to;
    return true;
  }

  async claimSecret(name: string, candidate: string): Promise<string> {
    const existing = this.#secrets.get(name);
    if (existing !== undefined) return existing;
    this.#secrets.set(name, candidate);
    return candidate;
  }
}

import type { KeyPromotion, KeyStore, PrivateKeyChange, StoredKey } from "@prolong/core";
import type { RedisClient } from "./client.js";
import { type FlatHash, fieldsOf, keyFields, toKey, whole } from "./codec.js";
import type { Keyspace } from "./keyspace.js";
import * as lua from "./scripts/keys.lua.js";

/** Signing keys and server secrets on Redis, all in the `{keys}` slot; each operation one script. */
export class RedisKeyStore implements KeyStore {
  readonly #client: RedisClient;
  readonly #base: string;

  constructor(client: RedisClient, keys: Keyspace) {
    this.#client = client;
    this.#base = keys.keys();
  }

  #key(kid: string): string {
    return `${this.#base}:k:${kid}`;
  }

  get #kids(): string {
    return `${this.#base}:kids`;
  }

  async putKey(key: StoredKey): Promise<boolean> {
    const stored = await this.#client.run(
      lua.putKey,
      [this.#key(key.kid), this.#kids],
      [key.kid, ...keyFields(key)],
    );
    return stored === 1;
  }

  async listKeys(): Promise<StoredKey[]> {
    const flats = (await this.#client.run(lua.listKeys, [this.#kids], [this.#base])) as FlatHash[];
    return flats.filter((flat) => flat.length > 0).map((flat) => toKey(fieldsOf(flat)));
  }

  async promoteKey(promotion: KeyPromotion): Promise<boolean> {
    const args = [
      this.#base,
      promotion.next,
      promotion.active === null ? "0" : "1",
      promotion.active ?? "",
      whole(promotion.now, "now"),
    ];
    return (await this.#client.run(lua.promoteKey, [this.#kids], args)) === 1;
  }

  async deleteKey(kid: string): Promise<boolean> {
    return (await this.#client.run(lua.deleteKey, [this.#key(kid), this.#kids], [kid])) === 1;
  }

  async replacePrivateKeys(changes: readonly PrivateKeyChange[]): Promise<boolean> {
    if (changes.length === 0) return true;
    const args = [this.#base, ...changes.flatMap((c) => [c.kid, c.from, c.to])];
    return (await this.#client.run(lua.replacePrivateKeys, [this.#kids], args)) === 1;
  }

  async claimSecret(name: string, candidate: string): Promise<string> {
    return (await this.#client.run(lua.claimSecret, [`${this.#base}:secrets`], [name, candidate])) as string;
  }
}

import type { KeyPromotion, KeyStore, PrivateKeyChange, StoredKey } from "@prolong/core";
import { KEY_COLUMNS, keyFromRow, keyToRow } from "@prolong/core/sql-rows";
import type Database from "better-sqlite3";
import { insertColumns, type Row } from "./database.js";
import type { Attempt } from "./lock-wait.js";
import { guardStatements } from "./unavailable.js";

/**
 * Signing keys and server secrets on SQLite; promotion, private-key replacement and
 * secret claims in `BEGIN IMMEDIATE`.
 */
export class SqliteKeyStore implements KeyStore {
  readonly #attempt: Attempt;
  readonly #s;
  readonly #promoteKey;
  readonly #claimSecret;
  readonly #replacePrivateKeys;

  constructor(db: Database.Database, attempt: Attempt) {
    this.#attempt = attempt;
    const s = guardStatements(db, {
      insertKey: db.prepare(`INSERT INTO signing_keys ${insertColumns(KEY_COLUMNS)} ON CONFLICT DO NOTHING`),
      listKeys: db.prepare("SELECT * FROM signing_keys ORDER BY created_at, kid"),
      isNextKey: db.prepare(
        "SELECT 1 FROM signing_keys WHERE kid = ? AND activated_at IS NULL AND retired_at IS NULL",
      ),
      activeKeys: db.prepare(
        "SELECT kid FROM signing_keys WHERE activated_at IS NOT NULL AND retired_at IS NULL",
      ),
      retireActive: db.prepare(
        "UPDATE signing_keys SET retired_at = ? WHERE activated_at IS NOT NULL AND retired_at IS NULL",
      ),
      activateKey: db.prepare("UPDATE signing_keys SET activated_at = ? WHERE kid = ?"),
      deleteKey: db.prepare("DELETE FROM signing_keys WHERE kid = ?"),
      privateKey: db.prepare("SELECT private_key FROM signing_keys WHERE kid = ?"),
      setPrivateKey: db.prepare("UPDATE signing_keys SET private_key = ? WHERE kid = ?"),
      insertSecret: db.prepare("INSERT INTO secrets (name, value) VALUES (?, ?) ON CONFLICT DO NOTHING"),
      secret: db.prepare("SELECT value FROM secrets WHERE name = ?"),
    });
    this.#s = s;
    this.#promoteKey = db.transaction((promotion: KeyPromotion): boolean => {
      if (!s.isNextKey.get(promotion.next)) return false;
      const active = (s.activeKeys.all() as { kid: string }[]).map((r) => r.kid);
      const seen = promotion.active;
      if (seen === null ? active.length > 0 : !active.includes(seen)) return false;
      s.retireActive.run(promotion.now);
      s.activateKey.run(promotion.now, promotion.next);
      return true;
    });
    this.#replacePrivateKeys = db.transaction((changes: readonly PrivateKeyChange[]): boolean => {
      const holds = (c: PrivateKeyChange) =>
        (s.privateKey.get(c.kid) as { private_key: string } | undefined)?.private_key === c.from;
      if (!changes.every(holds)) return false;
      for (const change of changes) s.setPrivateKey.run(change.to, change.kid);
      return true;
    });
    this.#claimSecret = db.transaction((name: string, candidate: string): string => {
      s.insertSecret.run(name, candidate);
      return (s.secret.get(name) as { value: string }).value;
    });
  }

  async putKey(key: StoredKey): Promise<boolean> {
    const params = keyToRow(key);
    const result = await this.#attempt(() => this.#s.insertKey.run(params));
    return result.changes === 1;
  }

  async listKeys(): Promise<StoredKey[]> {
    return ((await this.#attempt(() => this.#s.listKeys.all())) as Row[]).map(keyFromRow);
  }

  async promoteKey(promotion: KeyPromotion): Promise<boolean> {
    return this.#attempt(() => this.#promoteKey.immediate(promotion));
  }

  async deleteKey(kid: string): Promise<boolean> {
    return this.#attempt(() => this.#s.deleteKey.run(kid).changes === 1);
  }

  async replacePrivateKeys(changes: readonly PrivateKeyChange[]): Promise<boolean> {
    return this.#attempt(() => this.#replacePrivateKeys.immediate(changes));
  }

  async claimSecret(name: string, candidate: string): Promise<string> {
    return this.#attempt(() => this.#claimSecret.immediate(name, candidate));
  }
}

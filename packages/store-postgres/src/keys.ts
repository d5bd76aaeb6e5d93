import type { KeyPromotion, KeyStore, PrivateKeyChange, StoredKey } from "@prolong/core";
import { KEY_COLUMNS, keyFromRow, keyToRow } from "@prolong/core/sql-rows";
import { insertColumns, type PostgresDatabase } from "./database.js";

/** Signing keys and server secrets on PostgreSQL; promotion is one function call (migrations.ts). */
export class PostgresKeyStore implements KeyStore {
  readonly #db: PostgresDatabase;

  constructor(db: PostgresDatabase) {
    this.#db = db;
  }

  async putKey(key: StoredKey): Promise<boolean> {
    const { text, values } = insertColumns(KEY_COLUMNS, keyToRow(key));
    const inserted = await this.#db.run(`INSERT INTO signing_keys ${text} ON CONFLICT DO NOTHING`, values);
    return inserted === 1;
  }

  async listKeys(): Promise<StoredKey[]> {
    return (await this.#db.query("SELECT * FROM signing_keys ORDER BY created_at, kid")).map(keyFromRow);
  }

  async promoteKey(promotion: KeyPromotion): Promise<boolean> {
    const [row] = await this.#db.query<{ promoted: boolean }>("SELECT promote_key($1, $2, $3) AS promoted", [
      promotion.next,
      promotion.active,
      promotion.now,
    ]);
    return row?.promoted === true;
  }

  async deleteKey(kid: string): Promise<boolean> {
    return (await this.#db.run("DELETE FROM signing_keys WHERE kid = $1", [kid])) === 1;
  }

  async replacePrivateKeys(changes: readonly PrivateKeyChange[]): Promise<boolean> {
    if (changes.length === 0) return true;
    // One statement. The sub-select locks every named key that still holds its `from`
    // (FOR UPDATE waits for a concurrent writer and then checks the row it committed),
    // and the update runs only when all of them do: a caller that lost a race on one
    // key changes none.
    const changed = await this.#db.run(
      `WITH change AS (
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) AS c(kid, old_key, new_key)
       )
       UPDATE signing_keys k SET private_key = change.new_key
         FROM change
        WHERE k.kid = change.kid AND k.private_key = change.old_key
          AND (SELECT count(*) FROM (
                 SELECT 1 FROM signing_keys held JOIN change c ON c.kid = held.kid AND held.private_key = c.old_key
                 FOR UPDATE OF held
               ) AS locked) = $4`,
      [changes.map((c) => c.kid), changes.map((c) => c.from), changes.map((c) => c.to), changes.length],
    );
    return changed === changes.length;
  }

  async claimSecret(name: string, candidate: string): Promise<string> {
    // When a concurrent claim inserted first, ON CONFLICT waited for it to commit, so the
    // read that follows (a new snapshot) finds its value: every claimant agrees on one.
    const [inserted] = await this.#db.query<{ value: string }>(
      "INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING value",
      [name, candidate],
    );
    if (inserted) return inserted.value;
    const [stored] = await this.#db.query<{ value: string }>("SELECT value FROM secrets WHERE name = $1", [
      name,
    ]);
    if (!stored) throw new Error(`secret ${name} vanished while it was being claimed`);
    return stored.value;
  }
}

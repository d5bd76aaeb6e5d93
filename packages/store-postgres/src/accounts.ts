import type { AccountPatch, AccountRecord, AccountStore, NewAccount } from "@prolong/core";
import { accountFromRow } from "@prolong/core/sql-rows";
import type { PostgresDatabase } from "./database.js";

/** Built-in username/password accounts on PostgreSQL; each operation is one statement. */
export class PostgresAccountStore implements AccountStore {
  readonly #db: PostgresDatabase;

  constructor(db: PostgresDatabase) {
    this.#db = db;
  }

  async createAccount(account: NewAccount): Promise<AccountRecord | null> {
    // No conflict target: a taken username and a subject with an account both insert nothing.
    const [row] = await this.#db.query(
      `INSERT INTO accounts (subject_id, username, password_hash, created_at, updated_at)
        VALUES ($1, $2, $3, $4, $4) ON CONFLICT DO NOTHING RETURNING *`,
      [account.subjectId, account.username, account.passwordHash, account.createdAt],
    );
    return row ? accountFromRow(row) : null;
  }

  async findAccountByName(username: string): Promise<AccountRecord | null> {
    const [row] = await this.#db.query("SELECT * FROM accounts WHERE username = $1", [username]);
    return row ? accountFromRow(row) : null;
  }

  async findAccountBySubject(subjectId: string): Promise<AccountRecord | null> {
    const [row] = await this.#db.query("SELECT * FROM accounts WHERE subject_id = $1", [subjectId]);
    return row ? accountFromRow(row) : null;
  }

  async listAccounts(options: { limit: number; after?: string }): Promise<AccountRecord[]> {
    // Usernames are never empty, so "" stands before every one of them ("C" collation: code points).
    const rows = await this.#db.query(
      "SELECT * FROM accounts WHERE username > $1 ORDER BY username LIMIT $2",
      [options.after ?? "", options.limit],
    );
    return rows.map(accountFromRow);
  }

  async updateAccount(subjectId: string, patch: AccountPatch, now: number): Promise<AccountRecord | null> {
    const [row] = await this.#db.query(
      `UPDATE accounts SET
          password_hash = CASE WHEN $3 THEN $4 ELSE password_hash END,
          updated_at = $2
        WHERE subject_id = $1 RETURNING *`,
      [subjectId, now, patch.passwordHash !== undefined, patch.passwordHash ?? null],
    );
    return row ? accountFromRow(row) : null;
  }
}

import type { AccountPatch, AccountRecord, AccountStore, NewAccount } from "@prolong/core";
import { accountFromRow } from "@prolong/core/sql-rows";
import type Database from "better-sqlite3";
import type { Row } from "./database.js";
import type { Attempt } from "./lock-wait.js";
import { guardStatements } from "./unavailable.js";

/** Built-in username/password accounts on SQLite; each operation is one statement. */
export class SqliteAccountStore implements AccountStore {
  readonly #s;
  readonly #attempt: Attempt;

  constructor(db: Database.Database, attempt: Attempt) {
    this.#attempt = attempt;
    this.#s = guardStatements(db, {
      // No conflict target: a taken username and a subject with an account both insert nothing.
      insert: db.prepare(`INSERT INTO accounts (subject_id, username, password_hash, created_at, updated_at)
        VALUES (:subject_id, :username, :password_hash, :created_at, :created_at)
        ON CONFLICT DO NOTHING RETURNING *`),
      byName: db.prepare("SELECT * FROM accounts WHERE username = ?"),
      bySubject: db.prepare("SELECT * FROM accounts WHERE subject_id = ?"),
      list: db.prepare("SELECT * FROM accounts WHERE username > ? ORDER BY username LIMIT ?"),
      update: db.prepare(`UPDATE accounts SET
          password_hash = CASE WHEN :set_password THEN :password_hash ELSE password_hash END,
          updated_at = :now
        WHERE subject_id = :subject_id RETURNING *`),
    });
  }

  async createAccount(account: NewAccount): Promise<AccountRecord | null> {
    const row = (await this.#attempt(() =>
      this.#s.insert.get({
        subject_id: account.subjectId,
        username: account.username,
        password_hash: account.passwordHash,
        created_at: account.createdAt,
      }),
    )) as Row | undefined;
    return row ? accountFromRow(row) : null;
  }

  async findAccountByName(username: string): Promise<AccountRecord | null> {
    const row = (await this.#attempt(() => this.#s.byName.get(username))) as Row | undefined;
    return row ? accountFromRow(row) : null;
  }

  async findAccountBySubject(subjectId: string): Promise<AccountRecord | null> {
    const row = (await this.#attempt(() => this.#s.bySubject.get(subjectId))) as Row | undefined;
    return row ? accountFromRow(row) : null;
  }

  async listAccounts(options: { limit: number; after?: string }): Promise<AccountRecord[]> {
    // Usernames are never empty, so "" stands before every one of them.
    const rows = await this.#attempt(() => this.#s.list.all(options.after ?? "", options.limit));
    return (rows as Row[]).map(accountFromRow);
  }

  async updateAccount(subjectId: string, patch: AccountPatch, now: number): Promise<AccountRecord | null> {
    const row = (await this.#attempt(() =>
      this.#s.update.get({
        subject_id: subjectId,
        now,
        set_password: patch.passwordHash === undefined ? 0 : 1,
        password_hash: patch.passwordHash ?? null,
      }),
    )) as Row | undefined;
    return row ? accountFromRow(row) : null;
  }
}

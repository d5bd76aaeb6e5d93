/**
 * The built-in username/password accounts: an optional module for the standalone server
 * and the demo. An application with its own login never uses them; its subjects exist
 * in the session store alone (store/index.ts states the rules all operations follow).
 */

export interface AccountRecord {
  /** The subject this account signs in as: its `sub`. */
  subjectId: string;
  /** Unique, compared exactly (the engine normalises case before calling). */
  username: string;
  /** Encoded password hash (see `passwords.ts`); `null` for an account without a password. */
  passwordHash: string | null;
  createdAt: number;
  updatedAt: number;
}

export type NewAccount = Omit<AccountRecord, "updatedAt">;

export type AccountPatch = Partial<Pick<AccountRecord, "passwordHash">>;

export interface AccountStore {
  /** Inserts an account; `null` if the username is taken or the subject has one already. */
  createAccount(account: NewAccount): Promise<AccountRecord | null>;
  findAccountByName(username: string): Promise<AccountRecord | null>;
  findAccountBySubject(subjectId: string): Promise<AccountRecord | null>;
  /** Ordered by username; `after` is the last username of the previous page. */
  listAccounts(options: { limit: number; after?: string }): Promise<AccountRecord[]>;
  /** Changes the account of `subjectId`; `null` when it has none. */
  updateAccount(subjectId: string, patch: AccountPatch, now: number): Promise<AccountRecord | null>;
}

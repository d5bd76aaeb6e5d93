import type { AccountPatch, AccountRecord, AccountStore, NewAccount } from "@prolong/core";

/** Built-in username/password accounts in process memory. */
export class MemoryAccountStore implements AccountStore {
  readonly #bySubject = new Map<string, AccountRecord>();
  readonly #subjectByName = new Map<string, string>();

  async createAccount(account: NewAccount): Promise<AccountRecord | null> {
    if (this.#bySubject.has(account.subjectId) || this.#subjectByName.has(account.username)) return null;
    const record: AccountRecord = { ...account, updatedAt: account.createdAt };
    this.#bySubject.set(record.subjectId, record);
    this.#subjectByName.set(record.username, record.subjectId);
    return { ...record };
  }

  async findAccountByName(username: string): Promise<AccountRecord | null> {
    const subjectId = this.#subjectByName.get(username);
    return subjectId === undefined ? null : this.findAccountBySubject(subjectId);
  }

  async findAccountBySubject(subjectId: string): Promise<AccountRecord | null> {
    const account = this.#bySubject.get(subjectId);
    return account ? { ...account } : null;
  }

  async listAccounts(options: { limit: number; after?: string }): Promise<AccountRecord[]> {
    const after = options.after;
    return [...this.#bySubject.values()]
      .filter((a) => after === undefined || a.username > after)
      .sort((a, b) => (a.username < b.username ? -1 : a.username > b.username ? 1 : 0))
      .slice(0, options.limit)
      .map((a) => ({ ...a }));
  }

  async updateAccount(subjectId: string, patch: AccountPatch, now: number): Promise<AccountRecord | null> {
    const account = this.#bySubject.get(subjectId);
    if (!account) return null;
    if (patch.passwordHash !== undefined) account.passwordHash = patch.passwordHash;
    account.updatedAt = now;
    return { ...account };
  }
}

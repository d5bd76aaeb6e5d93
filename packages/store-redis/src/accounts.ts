import type { AccountPatch, AccountRecord, AccountStore, NewAccount } from "@prolong/core";
import type { RedisClient } from "./client.js";
import { type FlatHash, fieldsOf, toAccount, whole } from "./codec.js";
import type { Keyspace } from "./keyspace.js";
import * as lua from "./scripts/accounts.lua.js";

const account = (flat: FlatHash) => toAccount(fieldsOf(flat));

/** Built-in username/password accounts on Redis, all in the `{accounts}` slot; each operation one script or one command. */
export class RedisAccountStore implements AccountStore {
  readonly #client: RedisClient;
  readonly #base: string;

  constructor(client: RedisClient, keys: Keyspace) {
    this.#client = client;
    this.#base = keys.accounts();
  }

  #byName(username: string): string {
    return `${this.#base}:n:${username}`;
  }

  #bySubject(subjectId: string): string {
    return `${this.#base}:s:${subjectId}`;
  }

  async createAccount(input: NewAccount): Promise<AccountRecord | null> {
    const keys = [this.#byName(input.username), this.#bySubject(input.subjectId), `${this.#base}:names`];
    const args = [
      input.username,
      input.subjectId,
      whole(input.createdAt, "createdAt"),
      input.passwordHash === null ? "0" : "1",
      input.passwordHash ?? "",
    ];
    const flat = (await this.#client.run(lua.createAccount, keys, args)) as FlatHash | null;
    return flat ? account(flat) : null;
  }

  async findAccountByName(username: string): Promise<AccountRecord | null> {
    const fields = await this.#client.call((redis) => redis.hgetall(this.#byName(username)));
    return Object.keys(fields).length === 0 ? null : toAccount(fields);
  }

  async findAccountBySubject(subjectId: string): Promise<AccountRecord | null> {
    const flat = (await this.#client.run(
      lua.findAccountBySubject,
      [this.#bySubject(subjectId)],
      [this.#base],
    )) as FlatHash | null;
    return flat && flat.length > 0 ? account(flat) : null;
  }

  async listAccounts(options: { limit: number; after?: string }): Promise<AccountRecord[]> {
    const bound = options.after === undefined ? "-" : `(${options.after}`;
    const args = [this.#base, bound, whole(Math.max(options.limit, 0), "limit")];
    return ((await this.#client.run(lua.listAccounts, [`${this.#base}:names`], args)) as FlatHash[]).map(
      account,
    );
  }

  async updateAccount(subjectId: string, patch: AccountPatch, now: number): Promise<AccountRecord | null> {
    const { passwordHash } = patch;
    const args = [
      this.#base,
      whole(now, "now"),
      passwordHash === undefined ? "0" : "1",
      passwordHash === undefined || passwordHash === null ? "0" : "1",
      passwordHash ?? "",
    ];
    const flat = (await this.#client.run(
      lua.updateAccount,
      [this.#bySubject(subjectId)],
      args,
    )) as FlatHash | null;
    return flat ? account(flat) : null;
  }
}

import { ProlongError, type Store } from "@prolong/core";
import type { PostgresStoreOptions } from "@prolong/store-postgres";

// Each store package is imported when a spec names its kind, not before: PostgreSQL and
// Redis are optional peer dependencies (an application on SQLite installs neither driver),
// and a command that opens no store does not pay for loading any.

const STORE_KINDS = "sqlite:PATH, postgres://…, redis://… or memory:";

/**
 * A store URL without prolong's own query parameters `names`, and their values: the
 * driver would otherwise pass them on (PostgreSQL would take them for server settings).
 */
function takeParams<Name extends string>(
  spec: string,
  names: readonly Name[],
): { url: string; values: Partial<Record<Name, string>> } {
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    throw new ProlongError("invalid_config", `store: not a valid ${spec.split(":")[0]}:// URL`);
  }
  const values: Partial<Record<Name, string>> = {};
  for (const name of names) {
    const value = url.searchParams.get(name);
    url.searchParams.delete(name);
    if (value) values[name] = value;
  }
  return { url: url.href, values };
}

/** A whole number from a store URL's parameter `name`; the store checks its range, naming it too. */
function wholeNumber(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,15}$/.test(value))
    throw new ProlongError("invalid_config", `store: ${name}: must be a whole number, got "${value}"`);
  return Number(value);
}

/**
 * The PostgreSQL store a `postgres://` spec names. prolong's parameters: `schema`
 * (default `public`), `max` (connections in the pool, default 10), `statementTimeout`
 * and `connectionTimeout` (ms, default 5000 each).
 */
function postgresOptions(spec: string): PostgresStoreOptions {
  const { url, values } = takeParams(spec, ["schema", "max", "statementTimeout", "connectionTimeout"]);
  const options: PostgresStoreOptions = { connectionString: url };
  if (values.schema) options.schema = values.schema;
  for (const name of ["max", "statementTimeout", "connectionTimeout"] as const) {
    const n = wholeNumber(name, values[name]);
    if (n !== undefined) options[name] = n;
  }
  return options;
}

/** The Redis connection a `redis://` spec names; `prefix` starts every key (default `prolong:`). */
function redisOptions(spec: string): { url: string; keyPrefix?: string } {
  const { url, values } = takeParams(spec, ["prefix"]);
  return { url, ...(values.prefix ? { keyPrefix: values.prefix } : {}) };
}

/** Query parameters of a store URL that carry a credential (libpq and ioredis take `password`). */
const SECRET_PARAMS = ["password", "pass"];

/**
 * A store spec fit to print: the password of a `postgres://` or `redis://` URL (in its
 * userinfo or a `password` parameter) replaced by `***`. Every start-up line, message
 * and error that names the store goes through it, as consoles and logs are often
 * shared and kept. A URL that does not parse is shown by its scheme alone.
 */
export function redactStoreSpec(spec: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) return spec; // sqlite:PATH, memory:
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    return `${spec.split(":")[0]}://…`;
  }
  if (url.password) url.password = "***";
  for (const name of SECRET_PARAMS) if (url.searchParams.has(name)) url.searchParams.set(name, "***");
  return url.href;
}

const isPostgres = (spec: string) => /^postgres(ql)?:\/\//.test(spec);
const isRedis = (spec: string) => /^rediss?:\/\//.test(spec);

/**
 * The store package `name`, imported; `invalid_config` saying what to install when it is
 * not installed (the PostgreSQL and Redis stores are optional peer dependencies).
 */
async function storePackage<T>(name: string, kind: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (cause) {
    const missing =
      (cause as { code?: unknown }).code === "ERR_MODULE_NOT_FOUND" &&
      (cause as Error).message.includes(`'${name}'`);
    if (!missing) throw cause;
    throw new ProlongError(
      "invalid_config",
      `store: a ${kind} store needs the ${name} package, which is not installed; install it with \`npm install ${name}\``,
      { cause },
    );
  }
}

const postgresStore = () =>
  storePackage("@prolong/store-postgres", "postgres://", () => import("@prolong/store-postgres"));
const redisStore = () =>
  storePackage("@prolong/store-redis", "redis://", () => import("@prolong/store-redis"));

/**
 * Opens the store a `--store` / `PROLONG_STORE` value names: `sqlite:PATH` (the default,
 * `sqlite:./data/prolong.db`), `postgres://USER:PASSWORD@HOST:PORT/DATABASE[?schema=NAME]`
 * (migrated first with `prolong migrate`), `redis://[:PASSWORD@]HOST:PORT[/DB][?prefix=P]`
 * (`rediss://` for TLS) or `memory:` (lost on exit).
 */
export async function openStore(spec: string): Promise<Store> {
  if (spec.startsWith("sqlite:")) {
    const path = spec.slice("sqlite:".length);
    if (!path)
      throw new ProlongError(
        "invalid_config",
        "store: sqlite: needs a file path, e.g. sqlite:./data/prolong.db",
      );
    const { openSqliteStore } = await import("@prolong/store-sqlite");
    try {
      return openSqliteStore({ path });
    } catch (cause) {
      throw new ProlongError(
        "invalid_config",
        `store: cannot open SQLite database at ${path}: ${(cause as Error).message}`,
        { cause },
      );
    }
  }
  if (isPostgres(spec)) {
    const options = postgresOptions(spec);
    return (await postgresStore()).openPostgresStore(options);
  }
  if (isRedis(spec)) {
    const options = redisOptions(spec);
    return (await redisStore()).openRedisStore(options);
  }
  if (spec === "memory:") return new (await import("@prolong/store-memory")).MemoryStore();
  throw new ProlongError(
    "invalid_config",
    `store: "${spec.split(":")[0]}" is not a known store; use ${STORE_KINDS}`,
  );
}

/**
 * Brings the schema of the store `spec` names up to this version and says what it did.
 * SQLite migrates whenever it is opened, so this only opens it; Redis has no schema (it
 * is only reached, with a write), nor has memory.
 */
export async function migrateStore(spec: string): Promise<string> {
  if (spec === "memory:") return "memory: has no schema to migrate";
  if (isPostgres(spec)) {
    // The pool size and statement timeout are the server's: a migration runs on one
    // connection and takes what it takes (an index built on a large table).
    const { connectionString, schema = "public", connectionTimeout } = postgresOptions(spec);
    const { from, to } = await (await postgresStore()).migratePostgres({
      connectionString,
      schema,
      ...(connectionTimeout === undefined ? {} : { connectionTimeout }),
    });
    return from === to
      ? `PostgreSQL schema "${schema}" is up to date (version ${to})`
      : `PostgreSQL schema "${schema}" migrated from version ${from} to ${to}`;
  }
  const store = await openStore(spec);
  try {
    await store.ping();
    return isRedis(spec)
      ? "Redis has no schema to migrate; it answers writes"
      : "sqlite schema is up to date";
  } finally {
    await store.close();
  }
}

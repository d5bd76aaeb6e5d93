// One store of each kind for the store benches, on a place of its own (a SQLite file, a
// PostgreSQL schema, a Redis key prefix), with what a bench does to it besides calling
// the store: fill it fast with live sessions, say how many bytes they take, switch its
// durability setting, read its database's CPU time, and drop it.
//
// Filling writes what the store itself would write, in bulk:
// - SQLite: the store's own INSERT statements (same columns, same defaults) through a
//   connection of the bench's, in transactions of many rows;
// - PostgreSQL: INSERT … SELECT FROM unnest($1::text[], …) into the migrated schema,
//   set-based like INSERT … SELECT generate_series, with the values made in JavaScript so
//   one derivation of ids and hashes serves every store and every check;
// - Redis: the store's own ensureSubject and createSession (its scripts, its key layout),
//   many in flight on one connection, which ioredis pipelines.
// A bench then rotates a sample of the filled sessions through the real store to prove
// the data is what the store reads.
import { existsSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { fmt, progress } from "./report.mjs";

export const STORE_KINDS = ["sqlite", "postgres", "redis"];

/** Session columns in the order both SQL stores name them. */
const COLUMNS = [
  ["id", "text"],
  ["subject_id", "text"],
  ["client_id", "text"],
  ["device_name", "text"],
  ["user_agent", "text"],
  ["ip", "text"],
  ["created_at", "bigint"],
  ["auth_time", "bigint"],
  ["last_active_at", "bigint"],
  ["idle_expires_at", "bigint"],
  ["absolute_expires_at", "bigint"],
  ["token_version", "integer"],
  ["generation", "integer"],
  ["current_hash", "text"],
  ["previous_hash", "text"],
  ["rotated_at", "bigint"],
  ["revoked_at", "bigint"],
  ["revoked_reason", "text"],
];

/** A SessionRecord as the row of COLUMNS. */
const rowOf = (s) => [
  s.id,
  s.subjectId,
  s.clientId,
  s.deviceName,
  s.userAgent,
  s.ip,
  s.createdAt,
  s.authTime,
  s.lastActiveAt,
  s.idleExpiresAt,
  s.absoluteExpiresAt,
  s.tokenVersion,
  s.generation,
  s.currentHash,
  s.previousHash,
  s.rotatedAt,
  s.revokedAt,
  s.revokedReason,
];

/**
 * A population of live sessions: `sessions` of them, `sessionAt(i)` the record of the
 * i-th (made on demand, never all held at once), over `subjects` subjects whose ids are
 * `subjectAt(j)`, all created at `now`.
 * @typedef {{ sessions: number, subjects: number, sessionAt: (i: number) => object,
 *   subjectAt: (j: number) => string, now: number }} Population
 */

/**
 * A fresh place for a store of `kind`. `servers` holds the running PostgreSQL and Redis
 * (database-servers.mjs); `dir` a temporary directory for SQLite files; `name` tells
 * this place from others of the same run.
 */
export async function createTarget(kind, { dir, servers, name }) {
  if (kind === "sqlite") return sqliteTarget(join(dir, `${name}.db`));
  if (kind === "postgres") return postgresTarget(servers.postgres, `bench_${name}`);
  if (kind === "redis") return redisTarget(servers.redis, `b${name}:`);
  throw new Error(`unknown store kind "${kind}"; the kinds are ${STORE_KINDS.join(", ")}`);
}

function sqliteTarget(path) {
  const files = () => [path, `${path}-wal`].filter(existsSync);
  return {
    kind: "sqlite",
    /** What `prolong serve --store` takes. */
    spec: `sqlite:${path}`,
    /** The store's settings, fixed by the store: one way to run it. */
    durabilities: [{ label: "WAL, synchronous=NORMAL", apply: async () => {} }],
    async open() {
      const { openSqliteStore } = await import("@prolong/store-sqlite");
      return openSqliteStore({ path });
    },
    /** Opening migrates: the schema is there once this resolves. */
    async migrate() {
      await (await this.open()).close();
    },
    async fill(population, onProgress) {
      const db = new Database(path);
      try {
        db.pragma("synchronous = NORMAL");
        // The store's own statements (store-sqlite/src/sessions.ts: insertSubject, insertSession).
        const subject = db.prepare("INSERT INTO subjects (id, created_at, updated_at) VALUES (?, ?, ?)");
        const session = db.prepare(
          `INSERT INTO sessions (${COLUMNS.map(([c]) => c).join(", ")}) VALUES (${COLUMNS.map(() => "?").join(", ")})`,
        );
        const subjects = db.transaction((from, to) => {
          for (let j = from; j < to; j++)
            subject.run(population.subjectAt(j), population.now, population.now);
        });
        const sessions = db.transaction((from, to) => {
          for (let i = from; i < to; i++) session.run(rowOf(population.sessionAt(i)));
        });
        await inBatches(
          population.subjects,
          20_000,
          (from, to) => subjects(from, to),
          (n) => onProgress("subjects", n, population.subjects),
        );
        await inBatches(
          population.sessions,
          20_000,
          (from, to) => sessions(from, to),
          (n) => onProgress("sessions", n, population.sessions),
        );
        db.pragma("wal_checkpoint(TRUNCATE)");
      } finally {
        db.close();
      }
    },
    /** Bytes of the file (and its WAL), and of the sessions' and subjects' tables with their indexes (dbstat). */
    async footprint() {
      const db = new Database(path, { readonly: true });
      try {
        const part = (table) =>
          db
            .prepare(
              `SELECT coalesce(sum(pgsize), 0) AS bytes FROM dbstat WHERE name IN
                (SELECT name FROM sqlite_schema WHERE tbl_name = ?)`,
            )
            .get(table).bytes;
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
        return db.prepare("SELECT count(*) AS n FROM sessions").get().n;
      } finally {
        db.close();
      }
    },
    databaseCpuSeconds: () => null,
    async drop() {
      for (const suffix of ["", "-wal", "-shm"]) rmSync(path + suffix, { force: true });
    },
  };
}

function postgresTarget(server, schema) {
  const quoted = `"${schema}"`;
  const inSchema = (run) =>
    server.admin(async (client) => {
      await client.query(`SET search_path TO ${quoted}`);
      return run(client);
    });
  return {
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
      await inSchema(async (client) => {
        await inBatches(
          population.subjects,
          10_000,
          async (from, to) => {
            const ids = [];
            for (let j = from; j < to; j++) ids.push(population.subjectAt(j));
            // The store's insert (store-postgres/src/sessions.ts, ensureSubject): id and times, defaults for the rest.
            await client.query(
              "INSERT INTO subjects (id, created_at, updated_at) SELECT id, $2, $2 FROM unnest($1::text[]) AS id",
              [ids, population.now],
            );
          },
          (n) => onProgress("subjects", n, population.subjects),
        );
        const insert = `INSERT INTO sessions (${COLUMNS.map(([c]) => c).join(", ")})
          SELECT * FROM unnest(${COLUMNS.map(([, type], k) => `$${k + 1}::${type}[]`).join(", ")})`;
        await inBatches(
          population.sessions,
          5_000,
          async (from, to) => {
            const columns = COLUMNS.map(() => []);
            for (let i = from; i < to; i++) {
              const row = rowOf(population.sessionAt(i));
              for (let k = 0; k < row.length; k++) columns[k].push(row[k]);
            }
            await client.query(insert, columns);
          },
          (n) => onProgress("sessions", n, population.sessions),
        );
        // What autovacuum would have done by the time a table this size is in use: the
        // visibility map, free-space map and planner statistics.
        onProgress("VACUUM ANALYZE", population.sessions, population.sessions);
        await client.query("VACUUM ANALYZE subjects, sessions");
      });
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
}

function redisTarget(server, prefix) {
  let baseline = null;
  return {
    kind: "redis",
    spec: `${server.url}?prefix=${prefix}`,
    durabilities: [
      { label: "AOF appendfsync always", apply: () => server.appendfsync("always") },
      { label: "AOF appendfsync everysec", apply: () => server.appendfsync("everysec") },
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
      const store = await this.open();
      try {
        const { sessions } = store;
        await inFlight(
          population.subjects,
          256,
          (j) => sessions.ensureSubject(population.subjectAt(j), population.now),
          (n) => onProgress("subjects", n, population.subjects),
        );
        await inFlight(
          population.sessions,
          256,
          (i) => sessions.createSession(population.sessionAt(i)),
          (n) => onProgress("sessions", n, population.sessions),
        );
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
}

/** A `fill` progress reporter: a line per tenth of each part in a log, every step on a terminal. */
export function fillProgress(prefix) {
  let last = "";
  return (what, done, total) => {
    const step = `${what} ${Math.floor((done / total) * 10)}`;
    progress(`${prefix}: ${what} ${fmt(done)}/${fmt(total)}`, step !== last);
    last = step;
  };
}

/** Runs `batch(from, to)` over [0, total) in slices of `size`, one after the other. */
async function inBatches(total, size, batch, onDone) {
  for (let from = 0; from < total; from += size) {
    const to = Math.min(total, from + size);
    await batch(from, to);
    onDone(to);
  }
}

/** Calls `task(i)` for i in [0, total), at most `limit` pending at once. */
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

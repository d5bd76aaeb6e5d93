// The database servers of the store benches: the same real PostgreSQL and Redis the
// tests start (testing/postgres-server.ts, testing/redis-server.ts, imported through
// typescript-hooks.mjs, as Node 20 cannot run .ts), on loopback, then set up as
// production runs them: a test cluster skips every fsync, a bench must not.
import { readFileSync } from "node:fs";
import { register } from "node:module";
import pg from "pg";
import { cpuSeconds, treeCpuSeconds } from "./refresh-load.mjs";

register("./typescript-hooks.mjs", import.meta.url);

/** @typedef {Awaited<ReturnType<typeof startPostgres>>} PostgresBench */
/** @typedef {Awaited<ReturnType<typeof startRedis>>} RedisBench */

/**
 * A PostgreSQL cluster of testing/postgres-server.ts made durable again: `fsync` and
 * `full_page_writes` back on (ALTER SYSTEM, then a reload: both take effect without a
 * restart). `synchronous_commit` is what {@link PostgresBench.synchronousCommit} sets.
 * Everything else stays at PostgreSQL's defaults (`shared_buffers` 128 MB among them).
 */
export async function startPostgres() {
  const { startPostgresServer } = await import("../../testing/postgres-server.ts");
  const server = await startPostgresServer();
  /** @type {number | null} */
  let postmaster = null;
  /**
   * Runs `run` on a connection of its own, closed after.
   * @template T
   * @param {(client: pg.Client) => Promise<T>} run
   * @returns {Promise<T>}
   */
  const admin = async (run) => {
    const client = new pg.Client({ connectionString: server.url });
    client.on("error", () => {});
    await client.connect();
    try {
      return await run(client);
    } finally {
      await client.end();
    }
  };
  const settle = (/** @type {pg.Client} */ client) => client.query("SELECT pg_reload_conf()");
  try {
    await admin(async (client) => {
      await client.query("ALTER SYSTEM SET fsync = on");
      await client.query("ALTER SYSTEM SET full_page_writes = on");
      await client.query("ALTER SYSTEM SET synchronous_commit = on");
      await settle(client);
      // The backend pid's parent is the postmaster; its children are every backend and
      // background process, so their CPU is the server's.
      const { rows } = await client.query("SELECT pg_backend_pid() AS pid");
      postmaster = parentOf(rows[0].pid);
    });
  } catch (error) {
    await server.close();
    throw error;
  }
  return {
    url: server.url,
    close: () => server.close(),
    admin,
    /**
     * `on`: a commit returns once its WAL is fsynced (PostgreSQL's default); `off`: the WAL
     * writer flushes within 3 × wal_writer_delay (600 ms) after. New and pooled
     * connections alike pick it up at their next statement after the reload; the value is
     * read back from a fresh connection.
     */
    /** @param {"on" | "off"} value */
    async synchronousCommit(value) {
      await admin(async (client) => {
        await client.query(`ALTER SYSTEM SET synchronous_commit = ${value === "on" ? "on" : "off"}`);
        await settle(client);
      });
      const shown = await admin(async (client) => (await client.query("SHOW synchronous_commit")).rows[0]);
      const fsync = await admin(async (client) => (await client.query("SHOW fsync")).rows[0]);
      if (shown.synchronous_commit !== value || fsync.fsync !== "on")
        throw new Error(`PostgreSQL settings did not take: ${JSON.stringify({ ...shown, ...fsync })}`);
    },
    /** CPU seconds of the postmaster and every process it runs now; `null` off Linux. */
    cpuSeconds: () => (postmaster === null ? null : treeCpuSeconds(postmaster)),
  };
}

/**
 * The Redis of testing/redis-server.ts with `durable` (AOF, `appendfsync always`), with
 * automatic AOF rewrites off, so that no rewrite (a fork and a full write of the data)
 * lands inside a measurement. {@link RedisBench.appendfsync} switches the fsync policy at
 * run time (CONFIG SET), on the same data.
 */
export async function startRedis() {
  const { startRedisServer } = await import("../../testing/redis-server.ts");
  const { Redis } = await import("ioredis");
  const server = await startRedisServer({ durable: true });
  const redis = new Redis(server.url, { maxRetriesPerRequest: 1, commandTimeout: 120_000 });
  redis.on("error", () => {});
  let pid = null;
  try {
    await redis.config("SET", "auto-aof-rewrite-percentage", "0");
    pid = Number(/^process_id:(\d+)/m.exec(await redis.info("server"))?.[1]);
  } catch (error) {
    redis.disconnect();
    await server.close();
    throw error;
  }
  return {
    url: server.url,
    redis,
    async close() {
      redis.disconnect();
      await server.close();
    },
    /**
     * Sets `always`, `everysec` or `no` (the last only while filling: nothing is measured
     * then) and returns the setting it replaced.
     */
    async appendfsync(/** @type {string} */ mode) {
      const [, before] = /** @type {[string, string]} */ (await redis.config("GET", "appendfsync"));
      await redis.config("SET", "appendfsync", mode);
      const [, shown] = /** @type {[string, string]} */ (await redis.config("GET", "appendfsync"));
      if (shown !== mode) throw new Error(`Redis appendfsync is ${shown}, not ${mode}`);
      return before;
    },
    /** `used_memory` of INFO memory: what the allocator holds for data and buffers, in bytes. */
    async usedMemory() {
      return Number(/^used_memory:(\d+)/m.exec(await redis.info("memory"))?.[1]);
    },
    /** Deletes every key (the server is this bench's own), and waits until memory is freed. */
    flushAll: () => redis.flushall("SYNC"),
    /** CPU seconds of redis-server, all its threads (the AOF fsync runs in one); `null` off Linux. */
    cpuSeconds: () => cpuSeconds(pid),
  };
}

/**
 * The parent pid of `pid`, from /proc; `null` elsewhere.
 * @param {number} pid
 */
function parentOf(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ");
    return fields?.[1] === undefined ? null : Number(fields[1]);
  } catch {
    return null;
  }
}

/**
 * The database servers `stores` names (any of "postgres", "redis"; "sqlite" needs none),
 * each registered with `cleanup` so it stops whatever happens: `{ postgres?, redis? }`.
 * @param {readonly string[]} stores
 * @param {import("./cleanup.mjs").Cleanup} cleanup
 * @param {(text: string, milestone?: boolean) => void} progress
 */
export async function startDatabaseServers(stores, cleanup, progress) {
  /** @type {{ postgres?: PostgresBench, redis?: RedisBench }} */
  const servers = {};
  if (stores.includes("postgres")) {
    progress("starting PostgreSQL (testing/postgres-server.ts, then fsync and full_page_writes on)", true);
    const postgres = await startPostgres();
    servers.postgres = postgres;
    cleanup.add(() => postgres.close());
  }
  if (stores.includes("redis")) {
    progress("starting Redis (testing/redis-server.ts, durable: AOF)", true);
    const redis = await startRedis();
    servers.redis = redis;
    cleanup.add(() => redis.close());
  }
  return servers;
}

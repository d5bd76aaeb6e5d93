/**
 * A real Redis for tests: `redis-server` (Debian's `redis-server` package) on a free
 * loopback port, in a fresh directory, without persistence, so each run starts empty.
 *
 * ```ts
 * let server: RedisServer;
 * beforeAll(async () => { server = await startRedisServer(); });
 * afterAll(() => server.close());
 * it("…", async () => {
 *   const { store, cleanup } = await openRedisTestStore(server);
 *   // …
 *   await cleanup();
 * });
 * ```
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openRedisStore, type RedisStore, type RedisStoreOptions } from "@prolong/store-redis";
import { Redis } from "ioredis";
import { freePort } from "./free-port.js";

export interface RedisServer {
  /** `redis://127.0.0.1:<port>`. */
  url: string;
  /** Stops the server (as an outage would); its port and directory stay for `start`. */
  stop(): Promise<void>;
  /**
   * Starts it again on the same port, empty unless it is `durable`, and waits until it
   * answers; nothing when it runs already.
   */
  start(): Promise<void>;
  /** Stops it and deletes its directory. */
  close(): Promise<void>;
}

export interface RedisServerOptions {
  /**
   * A one-node Redis Cluster owning every slot: the server then refuses any command or
   * `#!lua` script that touches keys of more than one slot, as a real Cluster does.
   */
  cluster?: boolean;
  /**
   * Durable as production should run it (docs/scale-out.md): an append-only file fsynced
   * at every write, so a stopped and restarted server keeps its data. Default off: a
   * test server starts empty and never outlives its run.
   */
  durable?: boolean;
}

/** How long a server may take to answer PING after it was started (ms). */
const START_TIMEOUT = 10_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts `redis-server` and resolves once it answers PING (and, as a cluster, serves every slot). */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), "prolong-redis-"));
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const persistence = options.durable
    ? ["--appendonly", "yes", "--appendfsync", "always"]
    : ["--appendonly", "no"];
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", ...persistence];
  args.push("--dir", dir);
  if (options.cluster) args.push("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf");

  let child: ChildProcess | null = null;
  const start = async () => {
    if (child && child.exitCode === null && child.signalCode === null) return;
    child = await spawnServer(args);
    await waitUntilReady(url, child, options.cluster === true);
  };
  const stop = async () => {
    const running = child;
    child = null;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once("exit", () => resolve());
      running.kill("SIGTERM");
    });
  };
  try {
    await start();
  } catch (error) {
    await stop();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url,
    stop,
    start,
    close: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function spawnServer(args: string[]): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
    child.once("error", (error: NodeJS.ErrnoException) => {
      reject(
        error.code === "ENOENT"
          ? new Error(
              "redis-server is not installed: the Redis store tests need it on PATH (Debian: apt-get install redis-server)",
            )
          : error,
      );
    });
    child.once("spawn", () => resolve(child));
  });
}

/** PING until it answers, the process exits, or START_TIMEOUT passes; a cluster also gets every slot. */
async function waitUntilReady(url: string, child: ChildProcess, cluster: boolean): Promise<void> {
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  const deadline = Date.now() + START_TIMEOUT;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}: ${output}`);
    const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    probe.on("error", () => {});
    try {
      await probe.connect();
      // Answered by this process, not by another one holding the port.
      const ours = new RegExp(`^process_id:${child.pid}\\r?$`, "m").test(await probe.info("server"));
      if (!ours) throw new Error(`another process answers on ${url}`);
      if ((await probe.ping()) === "PONG" && (!cluster || (await clusterReady(probe)))) return;
    } catch (error) {
      // Not listening yet, unless another process answers in its place.
      if (error instanceof Error && error.message.startsWith("another process")) throw error;
    } finally {
      probe.disconnect();
    }
    await sleep(50);
  }
  throw new Error(`redis-server did not answer PING within ${START_TIMEOUT} ms: ${output}`);
}

/** Gives the lone node every slot once (a restart keeps them in nodes.conf); true once the cluster is up. */
async function clusterReady(redis: Redis): Promise<boolean> {
  const info = (await redis.call("CLUSTER", "INFO")) as string;
  if (/cluster_slots_assigned:0\b/.test(info)) await redis.call("CLUSTER", "ADDSLOTSRANGE", "0", "16383");
  return /cluster_state:ok\b/.test(info);
}

/** A store of its own on `server`: a fresh random key prefix; `cleanup` closes it and deletes its keys. */
export async function openRedisTestStore(
  server: Pick<RedisServer, "url">,
  options: Partial<Omit<RedisStoreOptions, "url">> = {},
): Promise<{ store: RedisStore; prefix: string; cleanup: () => Promise<void> }> {
  const prefix = options.keyPrefix ?? `t${randomBytes(6).toString("hex")}:`;
  // A short command timeout, so an outage test fails within it rather than the default two seconds.
  const store = openRedisStore({ commandTimeout: 1000, ...options, url: server.url, keyPrefix: prefix });
  return {
    store,
    prefix,
    cleanup: async () => {
      await store.close();
      await deleteKeys(server, prefix);
    },
  };
}

/** Deletes every key that starts with `prefix` (no glob characters in it), one key per command as a Cluster needs. */
export async function deleteKeys(server: Pick<RedisServer, "url">, prefix: string): Promise<void> {
  const redis = new Redis(server.url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on("error", () => {});
  try {
    let cursor = "0";
    for (let round = 0; round < 100_000; round++) {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      await Promise.all(keys.map((key) => redis.unlink(key)));
      cursor = next;
      if (cursor === "0") break;
    }
  } catch {
    // The server is gone (an outage test stopped it): nothing is left to delete.
  } finally {
    redis.disconnect();
  }
}

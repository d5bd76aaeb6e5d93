// Real processes the behaviour benches run against: a PostgreSQL cluster and a Redis
// server started as testing/postgres-server.ts and testing/redis-server.ts start theirs
// (plain JS here, since benches run without a TypeScript loader), and `prolong serve`
// on any store spec. Everything listens on 127.0.0.1 only. Whatever is started is
// registered, and `stopEverythingNow` (called on exit, SIGINT included) ends it all.
import { execFile, execFileSync, spawn } from "node:child_process";
import { appendFileSync, chownSync, mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { freePort } from "./refresh-load.mjs";

const run = promisify(execFile);
const CLI = fileURLToPath(new URL("../../packages/server/dist/cli.js", import.meta.url));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Synchronous teardowns of what runs now, so an exit or a Ctrl-C leaves nothing behind. */
const running = new Set();

/** Stops every process started here and deletes their directories, synchronously. */
export function stopEverythingNow() {
  for (const teardown of [...running]) {
    running.delete(teardown);
    try {
      teardown();
    } catch {
      // Gone already.
    }
  }
}
process.once("exit", stopEverythingNow);

/**
 * A fresh PostgreSQL cluster on a free loopback port, as testing/postgres-server.ts makes
 * one: `initdb` (as the `postgres` OS user when running as root), trust authentication,
 * durability off (`fsync`, `synchronous_commit`, `full_page_writes`), 200 connections.
 */
export async function startPostgres() {
  const asRoot = process.getuid?.() === 0;
  const command = (tool, args) =>
    asRoot ? ["runuser", "-u", "postgres", "--", tool, ...args] : [tool, ...args];
  const exec = (tool, args) => {
    const [file, ...rest] = command(tool, args);
    return run(file, rest, { timeout: 60_000 });
  };
  const dir = mkdtempSync(join(tmpdir(), "prolong-bench-pg-"));
  const data = join(dir, "data");
  const log = join(dir, "server.log");
  if (asRoot) {
    const id = (flag) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }));
    chownSync(dir, id("-u"), id("-g"));
  }
  const teardown = () => {
    const [file, ...args] = command("pg_ctl", ["-D", data, "-m", "immediate", "stop"]);
    try {
      execFileSync(file, args, { stdio: "ignore" });
    } catch {
      // Not running.
    }
    rmSync(dir, { recursive: true, force: true });
  };
  running.add(teardown);
  await exec("initdb", [
    "-D",
    data,
    "-U",
    "postgres",
    "--auth=trust",
    "--encoding=UTF8",
    "--locale=C.UTF-8",
    "--no-sync",
    "--no-instructions",
  ]);
  const port = await freePort();
  appendFileSync(
    join(data, "postgresql.conf"),
    [
      "listen_addresses = '127.0.0.1'",
      `port = ${port}`,
      `unix_socket_directories = '${dir}'`,
      "fsync = off",
      "synchronous_commit = off",
      "full_page_writes = off",
      "max_connections = 200",
      "",
    ].join("\n"),
  );
  await exec("pg_ctl", ["-D", data, "-l", log, "-w", "-t", "60", "start"]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    close: async () => {
      running.delete(teardown);
      teardown();
    },
  };
}

/**
 * `redis-server` on a free loopback port in a fresh directory, as e2e/backends.ts runs it:
 * durable (an append-only file fsynced at every write) unless `durable` is false.
 */
export async function startRedis({ durable = true } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "prolong-bench-redis-"));
  const port = await freePort();
  const persistence = durable ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"];
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", ...persistence, "--dir", dir],
    { stdio: "ignore" },
  );
  const teardown = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  running.add(teardown);
  await new Promise((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", (error) =>
      reject(error.code === "ENOENT" ? new Error("redis-server is not on PATH") : error),
    );
  });
  // PING until it answers, for at most 10 s.
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
    if (await pingRedis(port)) break;
    if (attempt >= 200) throw new Error("redis-server did not answer PING within 10 s");
    await sleep(50);
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await Promise.race([gone, sleep(10_000)]);
      }
      running.delete(teardown);
      teardown();
    },
  };
}

/** Whether a Redis on `port` answers PING within a second. */
function pingRedis(port) {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    let answer = "";
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk) => {
      answer += chunk;
      if (answer.includes("\r\n")) done(answer.startsWith("+PONG"));
    });
  });
}

/** Runs the CLI to completion (`prolong migrate`, …), for at most 60 s. */
export function runProlong(args, env = {}) {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: tmpdir(), env: { PATH: process.env.PATH ?? "", ...env }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? (error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/**
 * `prolong serve` on `store` (a `--store` spec) at `port` (default a free loopback one), with `issuer`
 * and only PATH, PROLONG_LOG_LEVEL=warn and `env` in its environment; resolves once it
 * prints that it is up, or fails with what it printed within 20 s. `stop()` sends SIGTERM
 * and waits (SIGKILL after 10 s).
 */
export async function startProlong({ store, issuer, env = {}, args = [], port: wanted }) {
  const port = wanted ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), "prolong-bench-serve-"));
  const cliArgs = ["serve", "--port", String(port), "--host", "127.0.0.1", "--store", store, ...args];
  if (issuer) cliArgs.push("--issuer", issuer);
  const child = spawn(process.execPath, [CLI, ...cliArgs], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? "", PROLONG_LOG_LEVEL: "warn", ...env },
  });
  const teardown = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  running.add(teardown);
  let out = "";
  child.stdout.on("data", (chunk) => {
    // Only the start-up lines are kept; a server logging more would fill memory.
    if (out.length < 20_000) out += chunk;
  });
  child.stderr.on("data", (chunk) => {
    if (out.length < 20_000) out += chunk;
  });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`prolong serve did not start within 20 s:\n${out}`));
    }, 20_000);
    const onExit = (code) => {
      clearTimeout(timer);
      reject(new Error(`prolong serve exited with ${code}:\n${out}`));
    };
    child.once("exit", onExit);
    child.stdout.on("data", function watch() {
      if (!/prolong is up at \S+ \(listening on /.test(out)) return;
      clearTimeout(timer);
      child.off("exit", onExit);
      child.stdout.off("data", watch);
      resolve();
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    stop: () =>
      new Promise((resolve) => {
        // Registered until it has gone: an interrupt meanwhile still kills it and cleans up.
        const gone = () => {
          clearTimeout(force);
          running.delete(teardown);
          rmSync(dir, { recursive: true, force: true });
          resolve();
        };
        const force = setTimeout(() => child.kill("SIGKILL"), 10_000);
        if (child.exitCode !== null || child.signalCode !== null) return gone();
        child.once("exit", gone);
        child.kill("SIGTERM");
      }),
  };
}

/** Counters of a server's /metrics whose name is `name`, by their label set. */
export async function metricValues(url, name) {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  const out = {};
  for (const m of text.matchAll(new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`, "gm")))
    out[m[1] ?? ""] = Number(m[2]);
  return out;
}

/** The p-th percentile (0–100) of an ascending array; NaN when it is empty. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? sorted[0];
}

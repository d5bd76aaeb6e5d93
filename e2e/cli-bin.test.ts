import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = fileURLToPath(new URL("..", import.meta.url));
const serverPackage = JSON.parse(readFileSync(join(root, "packages/server/package.json"), "utf8")) as {
  version: string;
  bin: Record<string, string>;
};

// The `prolong` command as npm installs it: `npx prolong` runs node_modules/.bin/prolong.
describe("the prolong bin", () => {
  it("is linked by npm and prints the package version", async () => {
    const { stdout } = await run(join(root, "node_modules/.bin/prolong"), ["--version"], { cwd: root });
    expect(stdout.trim()).toBe(serverPackage.version);
  });

  it("says to build when dist/ is missing, instead of a module-not-found trace", async () => {
    // A copy of the bin in a package directory that was never built.
    const dir = mkdtempSync(join(tmpdir(), "prolong-unbuilt-"));
    try {
      const bin = join(dir, serverPackage.bin.prolong as string);
      mkdirSync(join(bin, ".."), { recursive: true });
      copyFileSync(join(root, "packages/server", serverPackage.bin.prolong as string), bin);
      const failure = await run(process.execPath, [bin, "--version"]).then(
        () => null,
        (error: { code: number; stderr: string }) => error,
      );
      expect(failure?.code).toBe(1);
      expect(failure?.stderr).toContain("run `npm run build`");
      expect(failure?.stderr).not.toMatch(/ERR_MODULE_NOT_FOUND|at .*\(/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// Each call of the command pays for what it loads: the HTTP server, the logger, the
// metrics and the database drivers only when a command uses them (`serve`, a postgres://
// or redis:// store).
describe("what a prolong command loads", () => {
  const RECORDER = join(root, "e2e/fixtures/record-modules.mjs");

  /** The packages (`node_modules/NAME/`) a run of `prolong ARGS` loaded, each once. */
  async function loadedPackages(args: string[], cwd: string): Promise<string[]> {
    const list = join(cwd, `modules-${Date.now()}.txt`);
    await run(
      process.execPath,
      ["--import", RECORDER, join(root, "packages/server/bin/prolong.js"), ...args],
      {
        cwd,
        env: { PATH: process.env.PATH ?? "", RECORD_MODULES_FILE: list },
      },
    );
    const urls = readFileSync(list, "utf8").split("\n");
    const names = urls.map((url) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1]);
    return [...new Set(names.filter((name) => name !== undefined))].sort();
  }

  const SERVER_ONLY = ["fastify", "pino", "prom-client", "pg", "ioredis"];

  it("--version loads the argument parser and nothing of the server or the stores", async () => {
    const dir = mkdtempSync(join(tmpdir(), "prolong-modules-"));
    try {
      expect(await loadedPackages(["--version"], dir)).toEqual(["commander"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("takes an id that starts with '-' (base64url) as the id, not as an option", async () => {
    const dir = mkdtempSync(join(tmpdir(), "prolong-dash-id-"));
    try {
      for (const args of [
        ["sessions", "revoke", "-rzwZl_ZK1e47cKf_BcHZA"],
        ["subjects", "show", "-rzwZl_ZK1e47cKf_BcHZA"],
        ["keys", "export", "-rzwZl_ZK1e47cKf_BcHZA"],
      ]) {
        const failed = await run(
          join(root, "node_modules/.bin/prolong"),
          [...args, "--store", "sqlite:./p.db"],
          {
            cwd: dir,
          },
        ).catch((error: { stderr: string; code: number }) => error);
        expect("code" in failed ? failed.code : 0, args.join(" ")).toBe(2);
        const stderr = "stderr" in failed ? String(failed.stderr) : "";
        expect(stderr, args.join(" ")).not.toContain("unknown option");
        expect(stderr, args.join(" ")).toMatch(/^prolong: no (such session|subject|key)/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a query on a SQLite store loads SQLite's driver and neither the HTTP server nor the other drivers", async () => {
    const dir = mkdtempSync(join(tmpdir(), "prolong-modules-"));
    try {
      const loaded = await loadedPackages(["users", "list", "--store", "sqlite:./p.db"], dir);
      expect(loaded).toContain("better-sqlite3");
      for (const name of SERVER_ONLY) expect(loaded, name).not.toContain(name);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

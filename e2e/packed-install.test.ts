import { execFile } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

// prolong as an application gets it before its packages are on the registry: the
// tarballs `npm run pack` writes, installed with npm into an empty directory.

const run = promisify(execFile);
const root = fileURLToPath(new URL("..", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "prolong-packed-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * A directory holding better-sqlite3's native module as a prebuilt tarball, named as its
 * install script (prebuild-install) looks for one: the binary this checkout already
 * built. Without it the install compiles SQLite from source, minutes on a busy machine,
 * which would test the compiler, not prolong. On a platform where the name does not
 * match (musl), the install compiles, slower but the same.
 */
async function localPrebuilds(): Promise<string> {
  const dir = join(work, "prebuilds");
  mkdirSync(dir);
  const sqlite = join(root, "node_modules/better-sqlite3");
  const { version } = JSON.parse(readFileSync(join(sqlite, "package.json"), "utf8")) as { version: string };
  const abi = process.versions.modules;
  const name = `better-sqlite3-v${version}-node-v${abi}-${process.platform}-${process.arch}.tar.gz`;
  await run("tar", ["-czf", join(dir, name), "-C", sqlite, "build/Release/better_sqlite3.node"]);
  return dir;
}

/** This environment without what an npm script run sets (`npm test`): the app is a project of its own. */
const outsideNpm = () =>
  Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)));

describe("the packed packages", () => {
  it("install on their own into an empty app on SQLite, sign in, refresh and verify there", async () => {
    const packed = await run(process.execPath, [join(root, "scripts/pack.mjs"), join(work, "packs")], {
      cwd: root,
      timeout: 120_000,
    });
    // The line the script prints for the SQLite setup, run as printed.
    const line = /^ {2}npm install (.+)$/m.exec(packed.stdout)?.[1];
    expect(line, packed.stdout).toBeDefined();
    const tarballs = (line as string).split(" ");
    expect(tarballs.map((path) => /^prolong-([a-z-]+)-\d/.exec(basename(path))?.[1]).sort()).toEqual([
      "client",
      "core",
      "protocol",
      "server",
      "store-memory",
      "store-sqlite",
      "verify",
    ]);

    const app = join(work, "app");
    mkdirSync(app);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
    const install = await run(
      "npm",
      ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel", "warn", ...tarballs],
      {
        cwd: app,
        timeout: 240_000,
        env: { ...outsideNpm(), npm_config_better_sqlite3_local_prebuilds: await localPrebuilds() },
      },
    );
    const printed = install.stdout + install.stderr;
    expect(printed).not.toContain("EBADENGINE");
    for (const driver of ["pg", "ioredis", "@prolong/store-postgres", "@prolong/store-redis"])
      expect(existsSync(join(app, "node_modules", driver)), driver).toBe(false);

    copyFileSync(join(root, "e2e/fixtures/packed-app.mjs"), join(app, "app.mjs"));
    const ran = await run(process.execPath, ["app.mjs"], { cwd: app, timeout: 60_000 });
    const result = JSON.parse(ran.stdout);
    expect(result).toMatchObject({ login: 200, refresh: 200, rotated: true });
    expect(result.verified).toBe(result.subject);
    expect(result.subject).toMatch(/^[\w-]{16,}$/);
    expect(result.postgres).toBe(
      "invalid_config: store: a postgres:// store needs the @prolong/store-postgres package, which is not installed; install it with `npm install @prolong/store-postgres`",
    );
    expect(result.redis).toContain("npm install @prolong/store-redis");
  }, 420_000);
});

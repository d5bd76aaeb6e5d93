import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = fileURLToPath(new URL("..", import.meta.url));

describe("the closing summary line", () => {
  it("counts a test file that fails while loading as a failure", { timeout: 60_000 }, async () => {
    // A separate Vitest run over e2e/fixtures/plain-summary: one passing test, one file that throws.
    const vitest = fileURLToPath(new URL("../node_modules/vitest/vitest.mjs", import.meta.url));
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !name.startsWith("VITEST")),
    );
    const outcome = await run(
      process.execPath,
      [vitest, "run", "--config", "e2e/fixtures/plain-summary/vitest.config.ts"],
      { cwd: root, env, timeout: 50_000 },
    ).then(
      ({ stdout }) => ({ code: 0, stdout }),
      (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
    );
    expect(outcome.stdout.match(/^\d+ passed, \d+ failed.*$/m)?.[0]).toBe("1 passed, 1 failed");
    expect(outcome.code).toBe(1);
  });
});

import { defineConfig } from "vitest/config";
import type { Reporter, TestModule } from "vitest/node";

/** Ends the run with one plain "N passed, N failed" line, which any CI log reader understands. */
class PlainSummary implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const module of modules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") passed++;
        else if (state === "failed") failed++;
        else skipped++;
      }
    }
    process.stdout.write(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}\n`);
  }
}

export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts", "e2e/**/*.test.ts"],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    reporters: ["default", new PlainSummary()],
  },
});

import { configDefaults, defineConfig } from "vitest/config";
import { PlainSummary } from "./scripts/plain-summary.js";
import { programsToSkip, programTags } from "./testing/system-programs.js";

/**
 * `npm run soak`: the long, bounded runs that never belong in `npm test` (files named
 * `*.soak.test.ts`, which vitest.config.ts leaves out). PROLONG_SOAK=1 tells a test
 * written for both that it runs here (a fuzz test, say, takes 100 000 cases instead of a
 * few hundred). One file at a time: each loads the machine on purpose.
 */
export default defineConfig({
  test: {
    include: ["e2e/**/*.soak.test.ts", "packages/*/test/**/*.soak.test.ts"],
    exclude: [...configDefaults.exclude, "e2e/fixtures/**"],
    env: { PROLONG_SOAK: "1" },
    fileParallelism: false,
    testTimeout: 40 * 60_000,
    hookTimeout: 120_000,
    reporters: ["default", new PlainSummary()],
    // The tests tagged with a program this machine lacks are skipped and counted (CI=true: the run fails).
    tags: programTags(programsToSkip()),
  },
});

import { configDefaults, defineConfig } from "vitest/config";
import { PlainSummary } from "./scripts/plain-summary.js";

export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts", "e2e/**/*.test.ts"],
    // Test files that fail on purpose, run by e2e/plain-summary.test.ts under their own config.
    exclude: [...configDefaults.exclude, "e2e/fixtures/**"],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    reporters: ["default", new PlainSummary()],
  },
});

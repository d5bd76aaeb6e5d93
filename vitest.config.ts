import { fileURLToPath } from "node:url";
import { configDefaults, defineConfig } from "vitest/config";
import { PlainSummary } from "./scripts/plain-summary.js";
import { storePrograms, testStores } from "./testing/stores.js";
import { programsToSkip, programTags, wholeProjectSkip } from "./testing/system-programs.js";

/**
 * What this machine lacks of what some suites need (PostgreSQL, redis-server, Chromium,
 * nginx, root): their tests are skipped and counted, and the run ends saying what to install.
 * With CI=true this throws instead, naming each one: CI skips nothing.
 */
const skipped = programsToSkip();

/** The engine's and the server's suites: run once per store (packages/*\/test/fixtures.ts). */
const perStore = ["packages/core/test/**/*.test.ts", "packages/server/test/**/*.test.ts"];

const webBackend = new URL("packages/verify/dist/crypto/web.js", import.meta.url);

export default defineConfig({
  test: {
    // Test files that fail on purpose, run by e2e/plain-summary.test.ts under their own config,
    // and the soak runs (`npm run soak`, vitest.soak.config.ts).
    exclude: [...configDefaults.exclude, "e2e/fixtures/**", "**/*.soak.test.ts"],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    reporters: ["default", new PlainSummary()],
    // One tag per program: a test file that needs one says so in its first lines
    // (`// @module-tag redis-server`), a suite or test with `{ tags: [...] }`.
    tags: programTags(skipped),
    projects: [
      // One project per store kind `PROLONG_TEST_STORES` selects (default: all of them),
      // named after it, as Kysely runs its suite once per dialect.
      ...testStores().map((kind) => {
        const program = storePrograms[kind];
        // Without its server the project still runs, every test skipped and counted.
        const missing = program && skipped.includes(program) ? wholeProjectSkip(program) : null;
        return {
          extends: true as const,
          test: {
            name: kind,
            include: perStore,
            env: { PROLONG_TEST_STORE: kind, ...missing?.env },
            ...(missing
              ? { setupFiles: missing.setupFiles }
              : // A database server for the whole project, started once (testing/services-setup.ts).
                { globalSetup: ["testing/services-setup.ts"] }),
          },
        };
      }),
      // The verifier's suite again on its Web Crypto backend, the one edge runtimes load
      // (packages/verify/src/crypto/backend.ts): same cases, other implementation.
      {
        extends: true as const,
        test: {
          name: "verify-web",
          include: ["packages/verify/test/**/*.test.ts"],
          env: { PROLONG_VERIFY_BACKEND: "web" },
        },
        resolve: {
          alias: [{ find: /^#crypto$/, replacement: fileURLToPath(webBackend) }],
        },
      },
      // Everything else once: the other packages (the conformance suite loops over the
      // stores itself), the end-to-end tests with real processes and browsers.
      {
        extends: true as const,
        test: {
          name: "once",
          include: ["packages/*/test/**/*.test.ts", "e2e/**/*.test.ts", "testing/**/*.test.ts"],
          exclude: [...configDefaults.exclude, "e2e/fixtures/**", "**/*.soak.test.ts", ...perStore],
        },
      },
    ],
  },
});

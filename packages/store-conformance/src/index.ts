import { describe } from "vitest";
import { basicCases } from "./basics.js";
import type { StoreFactory } from "./fixtures.js";
import { modelCases } from "./model.js";
import { type BlockWrites, readinessCases } from "./readiness.js";
import { revocationCases } from "./revocations.js";
import { rotateCases } from "./rotate.js";

export type { StoreFactory } from "./fixtures.js";
export type { BlockWrites } from "./readiness.js";

export interface ConformanceOptions {
  /** Random sequences the model-based test runs. Default 60. */
  modelRuns?: number;
  /**
   * Makes a store's writes fail as an outage would (SQLite: another connection holding the
   * write lock) until the returned function is called. Given, the suite checks that
   * `ping` and writes report `store_unavailable` meanwhile and recover afterwards.
   */
  blockWrites?: BlockWrites;
}

/**
 * Registers the one suite every `SessionStore` must pass, as Vitest tests.
 * `factory` returns a fresh, empty store for each test (and an optional cleanup).
 *
 * ```ts
 * runStoreConformance("sqlite", async () => ({ store: openSqliteStore({ path: tempFile() }) }));
 * ```
 */
export function runStoreConformance(
  name: string,
  factory: StoreFactory,
  options: ConformanceOptions = {},
): void {
  describe(`store conformance: ${name}`, () => {
    basicCases(factory);
    rotateCases(factory);
    revocationCases(factory);
    modelCases(factory, options.modelRuns ?? 60);
    if (options.blockWrites) readinessCases(factory, options.blockWrites);
  });
}

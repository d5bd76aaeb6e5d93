import { describe } from "vitest";
import { accountCases } from "./accounts.js";
import { auditCases } from "./audit.js";
import { boundSessionCases } from "./bound-sessions.js";
import type { Concern, StoreFactory } from "./fixtures.js";
import { grantBudgetCases } from "./grant-budget.js";
import { handoffCases } from "./handoffs.js";
import { keyCases } from "./keys.js";
import { limitCases } from "./limits.js";
import { modelCases } from "./model.js";
import { type BlockWrites, readinessCases } from "./readiness.js";
import { replayCases } from "./replay.js";
import { revocationCases } from "./revocations.js";
import { rotateCases } from "./rotate.js";
import { type OpenPeer, sessionLimitCases } from "./session-limits.js";
import { sessionCases } from "./sessions.js";

export type { Concern, StoreFactory, StoreUnderTest } from "./fixtures.js";
/** For a store's own tests beside the suite: a session record with test defaults, and the suite's epoch. */
export { DAY, MINUTE, rotateRequest, sessionRecord, T0 } from "./fixtures.js";
export type { BlockWrites } from "./readiness.js";
export type { OpenPeer } from "./session-limits.js";

/** Every part of the suite, in the order it runs. */
export const concerns: readonly Concern[] = [
  "sessions",
  "accounts",
  "keys",
  "audit",
  "limits",
  "replay",
  "readiness",
];

export interface ConformanceOptions {
  /**
   * The parts to run, for a backend that implements only some concerns of the store
   * contract (sessions in Redis, say). Default: all of them, as a whole `Store` must pass.
   */
  concerns?: readonly Concern[];
  /** Random sequences the model-based test of the sessions concern runs. Default 60. */
  modelRuns?: number;
  /**
   * Makes a store's writes fail as an outage would (SQLite: another connection holding the
   * write lock) until the returned function is called. Given, readiness also checks that
   * `ping` and a write of every concern report `store_unavailable` meanwhile and recover after.
   */
  blockWrites?: BlockWrites;
  /**
   * Opens a second handle on a store's data (another connection or client, as a second
   * server process has). Given, the races that must be settled in the backend (session
   * limits) run across both handles; without it, on the one handle.
   */
  openPeer?: OpenPeer;
}

/**
 * Registers the one suite every store passes, as Vitest tests, one block per concern.
 * `factory` returns a fresh, empty store for each test (and an optional cleanup).
 *
 * ```ts
 * runStoreConformance("sqlite", async () => ({ store: openSqliteStore({ path: tempFile() }) }));
 * runStoreConformance("redis sessions", factory, { concerns: ["sessions", "keys"] });
 * ```
 */
export function runStoreConformance(
  name: string,
  factory: StoreFactory,
  options: ConformanceOptions = {},
): void {
  const selected = new Set(options.concerns ?? concerns);
  for (const concern of selected) {
    if (!concerns.includes(concern)) {
      throw new TypeError(`unknown store concern "${concern}"; the concerns are ${concerns.join(", ")}`);
    }
  }
  describe(`store conformance: ${name}`, () => {
    if (selected.has("sessions")) {
      describe("sessions", () => {
        sessionCases(factory);
        rotateCases(factory);
        grantBudgetCases(factory);
        boundSessionCases(factory);
        sessionLimitCases(factory, options.openPeer);
        revocationCases(factory);
        handoffCases(factory);
        modelCases(factory, options.modelRuns ?? 60);
      });
    }
    if (selected.has("accounts")) accountCases(factory);
    if (selected.has("keys")) keyCases(factory);
    if (selected.has("audit")) auditCases(factory);
    if (selected.has("limits")) limitCases(factory);
    if (selected.has("replay")) replayCases(factory);
    if (selected.has("readiness")) readinessCases(factory, options.blockWrites);
  });
}

import { type Concern, concerns, runStoreConformance } from "@prolong/store-conformance";
import { MemoryStore } from "@prolong/store-memory";
import { describe, expect, it } from "vitest";

describe("runStoreConformance options", () => {
  it("names every concern of the store contract, and readiness", () => {
    expect(concerns).toEqual(["sessions", "accounts", "keys", "audit", "limits", "replay", "readiness"]);
  });

  it("refuses a concern it does not know, naming the ones it does", () => {
    const factory = async () => ({ store: new MemoryStore() });
    expect(() => runStoreConformance("typo", factory, { concerns: ["session" as Concern] })).toThrow(
      'unknown store concern "session"; the concerns are sessions, accounts, keys, audit, limits, replay, readiness',
    );
  });
});

import { describe, expect, it } from "vitest";
import { browserBundle } from "../bench/lib/bundle-size.mjs";

/** The budget of `@prolong/client` with DPoP in it, min+gzip (docs/benchmarks.md). */
const BUDGET_BYTES = 6144;

describe("the client's size", () => {
  it(`is at most ${BUDGET_BYTES} bytes minified and gzipped, DPoP included`, async () => {
    // The bundle bench/client-size.mjs weighs and docs/benchmarks.md reports.
    const { bytes, gzipped } = await browserBundle('export * from "@prolong/client";');
    const text = new TextDecoder().decode(bytes);
    // The limit holds for the bundle that can make proofs and keep their key.
    expect(text).toContain("dpop+jwt");
    expect(text).toContain("indexedDB");
    expect(gzipped).toBeLessThanOrEqual(BUDGET_BYTES);
  });
});

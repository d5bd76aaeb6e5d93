import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";

/** The budget of `@prolong/client` with DPoP in it, min+gzip (docs/benchmarks.md). */
const BUDGET_BYTES = 6144;

/** `@prolong/client` built as bench/client-size.mjs builds it: esbuild, minified, ESM, browser, es2022. */
async function clientBundle(): Promise<Uint8Array> {
  const result = await build({
    stdin: {
      contents: 'export * from "@prolong/client";',
      resolveDir: new URL(".", import.meta.url).pathname,
      loader: "js",
    },
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    logLevel: "silent",
  });
  return result.outputFiles[0]?.contents as Uint8Array;
}

describe("the client's size", () => {
  it(`is at most ${BUDGET_BYTES} bytes minified and gzipped, DPoP included`, async () => {
    const bytes = await clientBundle();
    const text = new TextDecoder().decode(bytes);
    // The limit holds for the bundle that can make proofs and keep their key.
    expect(text).toContain("dpop+jwt");
    expect(text).toContain("indexedDB");
    expect(gzipSync(bytes, { level: 9 }).length).toBeLessThanOrEqual(BUDGET_BYTES);
  });
});

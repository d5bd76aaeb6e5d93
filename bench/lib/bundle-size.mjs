// How a browser bundle is built and weighed, for bench/client-size.mjs (which compares
// sizes) and e2e/client-size.test.ts (which holds the client to its budget): one build,
// so the budget and the published figures are of the same bundle.
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

/**
 * Bundles `code` (an entry module's text) as an app's bundler would for a browser:
 * esbuild, minified, ESM, es2022; `external` left out (what the app has anyway).
 * Resolved from the repository, so workspace packages are the built ones.
 * @param {string} code
 * @param {readonly string[]} [external]
 * @returns {Promise<{ bytes: Uint8Array, minified: number, gzipped: number }>}
 */
export async function browserBundle(code, external = []) {
  const result = await build({
    stdin: { contents: code, resolveDir: new URL(".", import.meta.url).pathname, loader: "js" },
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    external: [...external],
    logLevel: "silent",
  });
  const bytes = result.outputFiles?.[0]?.contents;
  if (!bytes) throw new Error("esbuild wrote no bundle");
  return { bytes, minified: bytes.length, gzipped: gzipSync(bytes, { level: 9 }).length };
}

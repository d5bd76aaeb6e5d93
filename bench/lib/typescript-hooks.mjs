// Module hooks (node:module `register`) that let a bench import the repository's
// TypeScript helpers under testing/ on Node 20, which cannot run .ts itself. Each .ts
// file is transpiled alone by esbuild (already a dev dependency, for the demo bundle):
// types are stripped, nothing is type-checked or bundled. TypeScript sources name their
// siblings `./x.js`; when no such file exists, `./x.ts` is tried.
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { transform } from "esbuild";

/** @type {import("node:module").ResolveHook} */
export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    const fromTypeScript = context.parentURL?.endsWith(".ts") === true;
    if (
      /** @type {{ code?: string }} */ (error)?.code !== "ERR_MODULE_NOT_FOUND" ||
      !fromTypeScript ||
      !/^\.\.?\/.*\.js$/.test(specifier)
    )
      throw error;
    return nextResolve(`${specifier.slice(0, -3)}.ts`, context);
  }
}

/** @type {import("node:module").LoadHook} */
export async function load(url, context, nextLoad) {
  if (!url.startsWith("file:") || !url.endsWith(".ts")) return nextLoad(url, context);
  const path = fileURLToPath(url);
  const { code } = await transform(await readFile(path, "utf8"), {
    loader: "ts",
    format: "esm",
    target: "node20",
    sourcefile: path,
    sourcemap: "inline",
  });
  return { format: "module", source: code, shortCircuit: true };
}

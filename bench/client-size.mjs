// Minified + gzipped size of the client and its React binding (React itself left out, as
// the app has it anyway), and of peers built the same way in the same run.
// Run after `npm install`: node bench/client-size.mjs
// Prints a table and writes bench/results/client-size.json. Nothing here is asserted.
import { mkdirSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const entries = [
  { name: "@prolong/client (fetch client)", code: 'export * from "@prolong/client";' },
  {
    name: "@prolong/client/axios (adapter only)",
    code: 'export * from "@prolong/client/axios";',
    external: ["axios"],
  },
  {
    name: "@prolong/react (binding + client)",
    code: 'export * from "@prolong/react";',
    external: ["react"],
  },
  {
    name: "@prolong/react (binding only)",
    code: 'export * from "@prolong/react";',
    external: ["react", "@prolong/client"],
  },
  { name: "axios-auth-refresh", code: 'export { default } from "axios-auth-refresh";', external: ["axios"] },
  { name: "oidc-client-ts", code: 'export * from "oidc-client-ts";' },
  { name: "@auth0/auth0-spa-js", code: 'export * from "@auth0/auth0-spa-js";' },
];

const rows = [];
for (const entry of entries) {
  try {
    const result = await build({
      stdin: { contents: entry.code, resolveDir: process.cwd(), loader: "js" },
      bundle: true,
      minify: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      write: false,
      external: entry.external ?? [],
      logLevel: "silent",
    });
    const bytes = result.outputFiles[0].contents;
    rows.push({ name: entry.name, minified: bytes.length, gzipped: gzipSync(bytes, { level: 9 }).length });
  } catch (error) {
    rows.push({ name: entry.name, error: String(error.message ?? error).split("\n")[0] });
  }
}

const base = rows[0].gzipped;
console.log(`${"bundle".padEnd(40)} ${"min".padStart(9)} ${"min+gzip".padStart(9)} ${"ratio".padStart(6)}`);
for (const r of rows) {
  if (r.error) console.log(`${r.name.padEnd(40)} not built: ${r.error}`);
  else
    console.log(
      `${r.name.padEnd(40)} ${String(r.minified).padStart(9)} ${String(r.gzipped).padStart(9)} ${(r.gzipped / base).toFixed(2).padStart(6)}`,
    );
}
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
writeFileSync(new URL("./results/client-size.json", import.meta.url), `${JSON.stringify(rows, null, 2)}\n`);

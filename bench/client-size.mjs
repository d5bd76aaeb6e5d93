// Minified + gzipped size of the client and its React binding (React itself left out, as
// the app has it anyway), and of peers built the same way in the same run.
// Run after `npm install`: node bench/client-size.mjs
// Prints a table and writes bench/results/client-size.json. Nothing here is asserted.
import { benchOptions } from "./lib/args.mjs";
import { browserBundle } from "./lib/bundle-size.mjs";
import { writeBenchResults } from "./lib/results.mjs";

// No options: sizes do not depend on time; --quick is accepted, and changes nothing.
benchOptions({});

/** @typedef {{ name: string, minified: number, gzipped: number } | { name: string, error: string }} SizeRow */

/** @type {{ name: string, code: string, external?: string[] }[]} */
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

/** @type {SizeRow[]} */
const rows = [];
for (const entry of entries) {
  try {
    const { minified, gzipped } = await browserBundle(entry.code, entry.external);
    rows.push({ name: entry.name, minified, gzipped });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    rows.push({ name: entry.name, error: message.split("\n")[0] ?? message });
  }
}

const first = rows[0];
if (!first || "error" in first) throw new Error(`${entries[0]?.name}: the base of every ratio was not built`);
const base = first.gzipped;
console.log(`${"bundle".padEnd(40)} ${"min".padStart(9)} ${"min+gzip".padStart(9)} ${"ratio".padStart(6)}`);
for (const r of rows) {
  if ("error" in r) console.log(`${r.name.padEnd(40)} not built: ${r.error}`);
  else
    console.log(
      `${r.name.padEnd(40)} ${String(r.minified).padStart(9)} ${String(r.gzipped).padStart(9)} ${(r.gzipped / base).toFixed(2).padStart(6)}`,
    );
}
const built = rows.filter(
  /** @type {(r: SizeRow) => r is Extract<SizeRow, { gzipped: number }>} */ ((r) => !("error" in r)),
);
const group = (/** @type {string} */ name) =>
  name.startsWith("@prolong/client")
    ? "@prolong/client"
    : name.startsWith("@prolong/react")
      ? "@prolong/react"
      : "peers";
writeBenchResults("client-size", {
  unit: "bytes",
  rows,
  plots: [
    {
      id: "client-size",
      title: "What the browser downloads: client bundles, minified and gzipped",
      unit: "bytes (min + gzip)",
      note: "esbuild, ESM, es2022, browser; React and axios left out where the bundle uses them; lower is better",
      bars: built.map((r) => ({ label: r.name, value: r.gzipped, group: group(r.name) })),
    },
  ],
});

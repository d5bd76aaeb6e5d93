// Bundles the demo page into packages/server/public (served at `/` by `prolong serve`).
import { copyFileSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const out = here("../public/");
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [here("../demo/demo.ts")],
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: true,
  sourcemap: true,
  outfile: `${out}demo.js`,
  logLevel: "warning",
});
copyFileSync(here("../demo/index.html"), `${out}index.html`);
copyFileSync(here("../demo/demo.css"), `${out}demo.css`);

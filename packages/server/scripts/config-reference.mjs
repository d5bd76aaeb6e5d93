// Writes docs/configuration.md from the settings in src/config.ts (via dist/: run
// `npm run build` first). packages/server/test/config-reference.test.ts fails when the
// committed file differs from what this writes.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { configReference } from "../dist/config-reference.js";

const target = fileURLToPath(new URL("../../../docs/configuration.md", import.meta.url));
writeFileSync(target, configReference());
console.log(`wrote ${target}`);

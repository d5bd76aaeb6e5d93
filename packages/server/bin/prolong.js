#!/usr/bin/env node
// The `prolong` command. npm links a bin only if its file exists at install time, and on
// a fresh clone `dist/` is built afterwards (by `prepare`), so the bin is this committed
// file, which loads the build when it runs.
import { existsSync } from "node:fs";

const cli = new URL("../dist/cli.js", import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write("prolong: the server is not built yet (no dist/cli.js); run `npm run build` first\n");
  process.exitCode = 1;
} else {
  await import(cli.href);
}

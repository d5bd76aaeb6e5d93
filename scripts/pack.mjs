// `npm run pack`: an installable tarball of every workspace package, built, in ./packs
// (or the directory given as the first argument), for installing prolong into an
// application before its packages are on the registry. A @prolong package's own
// @prolong dependencies are not on the registry either, so they are installed from
// their tarballs alongside it: the line this prints does that for the SQLite setup.

import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const into = resolve(process.argv[2] ?? resolve(root, "packs"));

mkdirSync(into, { recursive: true });
// A tarball of an older version left here would be installed too by a `*.tgz` pattern.
for (const old of readdirSync(into).filter((name) => name.endsWith(".tgz"))) rmSync(resolve(into, old));
// The published packages only: the examples are private workspaces.
const manifestOf = (dir) => JSON.parse(readFileSync(resolve(root, dir, "package.json"), "utf8"));
const published = manifestOf(".").workspaces.filter((dir) => manifestOf(dir).private !== true);
const workspaceFlags = published.flatMap((dir) => ["--workspace", dir]);
execFileSync("npm", ["pack", ...workspaceFlags, "--pack-destination", into, "--silent"], {
  cwd: root,
  stdio: ["ignore", "ignore", "inherit"],
});

const packs = readdirSync(into).filter((name) => name.endsWith(".tgz"));
process.stdout.write(`${packs.length} packages in ${into}:\n${packs.map((p) => `  ${p}\n`).join("")}`);
// The server, the verifier and the client on SQLite: what docs/own-login.md installs.
const sqliteSetup = ["protocol", "core", "store-memory", "store-sqlite", "server", "verify", "client"];
const wanted = packs.filter((p) => sqliteSetup.some((name) => p.startsWith(`prolong-${name}-`)));
process.stdout.write(
  `install into an app with:\n  npm install ${wanted.map((p) => join(into, p)).join(" ")}\n`,
);

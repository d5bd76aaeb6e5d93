import { execFile } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = fileURLToPath(new URL("..", import.meta.url));
const read = (path: string) => JSON.parse(readFileSync(path, "utf8"));

interface Manifest {
  name: string;
  private?: boolean;
  exports: Record<string, unknown>;
  files: string[];
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

// The published packages: the example apps are private workspaces, installed by no one.
const packages = (read(join(root, "package.json")).workspaces as string[])
  .map((dir) => ({ dir: join(root, dir), manifest: read(join(root, dir, "package.json")) as Manifest }))
  .filter(({ manifest }) => manifest.private !== true);

/** Every public entry point, as a consumer imports it: `@prolong/verify/express`, … */
const entryPoints = (only?: string) =>
  packages
    .filter(({ manifest }) => only === undefined || manifest.name === only)
    .flatMap(({ manifest }) =>
      Object.keys(manifest.exports)
        .filter((subpath) => subpath !== "./package.json")
        .map((subpath) => `${manifest.name}${subpath.slice(1)}`),
    );

/**
 * node_modules as someone who installed the prolong packages has it: their published
 * files (what `files` lists, from the built dist/) and what they declare they need, none
 * of this repository's devDependencies. A third-party package is a link into the
 * repository's node_modules; a peer comes with its @types, as whoever uses it has them.
 */
function installPackages(modules: string): void {
  const thirdParty = new Set<string>(["@types/node"]);
  for (const { dir, manifest } of packages) {
    const target = join(modules, manifest.name);
    mkdirSync(target, { recursive: true });
    cpSync(join(dir, "package.json"), join(target, "package.json"));
    for (const entry of manifest.files) {
      if (existsSync(join(dir, entry))) cpSync(join(dir, entry), join(target, entry), { recursive: true });
    }
    for (const name of Object.keys(manifest.dependencies ?? {})) {
      if (!name.startsWith("@prolong/")) thirdParty.add(name);
    }
    for (const name of Object.keys(manifest.peerDependencies ?? {})) {
      // prolong's own optional peers (the server's stores) are installed above, as packages.
      if (name.startsWith("@prolong/")) continue;
      thirdParty.add(name);
      thirdParty.add(`@types/${name}`);
    }
  }
  for (const name of thirdParty) {
    // Hoisted, or kept in the package's own node_modules when its version clashes with another's.
    const installed = [root, ...packages.map((p) => p.dir)]
      .map((dir) => join(dir, "node_modules", name))
      .find((path) => existsSync(path));
    if (!installed) continue; // peers that ship their own types have no @types
    mkdirSync(dirname(join(modules, name)), { recursive: true });
    symlinkSync(realpathSync(installed), join(modules, name), "dir");
  }
}

/** A strict project importing `specifiers`, type-checking every declaration file it reaches. */
function project(dir: string, specifiers: string[], compilerOptions: Record<string, unknown>): void {
  mkdirSync(dir);
  const lines = specifiers.map(
    (specifier, i) => `export * as entry${i} from "${specifier}"; // ${specifier.replace(/^@prolong\//, "")}`,
  );
  writeFileSync(join(dir, "index.ts"), `${lines.join("\n")}\n`);
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        skipLibCheck: false,
        noEmit: true,
        target: "ES2022",
        ...compilerOptions,
      },
      files: ["index.ts"],
    }),
  );
}

/**
 * The diagnostics about the consumer's files and prolong's published ones. Third-party
 * packages are links into the repository's node_modules, whose hoisting mixes versions no
 * single consumer installs together (express 5 hoists a typed content-disposition 2 where
 * @types/koa expects @types/content-disposition); their diagnostics, printed with paths
 * leading out of the project, say nothing about prolong.
 */
function ownDiagnostics(output: string): string[] {
  return output
    .split("\n")
    .filter((line) => line !== "" && !line.startsWith(" "))
    .filter((line) => !line.startsWith("../") && !line.startsWith("/"));
}

describe("published types", () => {
  it("type-check in strict consumer projects without skipLibCheck, on Node and in browsers", {
    timeout: 90_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "prolong-consumer-"));
    try {
      writeFileSync(join(dir, "package.json"), JSON.stringify({ private: true, type: "module" }));
      installPackages(join(dir, "node_modules"));
      // A Node service: every entry point, Node's types, no DOM.
      project(join(dir, "node"), entryPoints(), {
        module: "NodeNext",
        moduleResolution: "NodeNext",
        lib: ["ES2023"],
        types: ["node"],
      });
      // A web app through a bundler: the client, its React binding and the protocol they
      // speak, the DOM, no Node types.
      project(
        join(dir, "browser"),
        [
          ...entryPoints("@prolong/client"),
          ...entryPoints("@prolong/react"),
          ...entryPoints("@prolong/protocol"),
        ],
        {
          module: "ESNext",
          moduleResolution: "Bundler",
          lib: ["ES2023", "DOM", "DOM.Iterable"],
          types: [],
        },
      );
      const tsc = join(root, "node_modules/typescript/bin/tsc");
      const output = await run(process.execPath, [tsc, "-b", "node", "browser", "--pretty", "false"], {
        cwd: dir,
        timeout: 80_000,
      }).then(
        () => "",
        (error: { stdout?: string; stderr?: string; message: string }) =>
          `${error.stdout ?? ""}${error.stderr ?? ""}` || error.message,
      );
      expect(ownDiagnostics(output)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

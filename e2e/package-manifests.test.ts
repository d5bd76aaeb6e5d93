import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// What every published package promises its users: a licence, where its source lives,
// the Node versions it runs on, an exports map, and files that exist where npm puts them.

const root = fileURLToPath(new URL("..", import.meta.url));
const read = (path: string) => JSON.parse(readFileSync(join(root, path), "utf8"));
const rootManifest = read("package.json") as { license: string; workspaces: string[]; repository: unknown };
const REPOSITORY_URL = "git+https://github.com/prolong-dev/prolong.git";

interface Manifest {
  name: string;
  private?: boolean;
  license?: string;
  repository?: { type?: string; url?: string; directory?: string };
  engines?: { node?: string };
  exports?: Record<string, unknown>;
  types?: string;
  files?: string[];
  bin?: Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  sideEffects?: boolean;
}

// The examples are workspaces too, private ones: nothing of theirs is published.
const workspaces = rootManifest.workspaces
  .map((dir) => ({ dir, manifest: read(`${dir}/package.json`) as Manifest }))
  .filter(({ manifest }) => manifest.private !== true);

/** Every file path an exports map points at, however deeply its conditions nest. */
function exportTargets(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (value && typeof value === "object") return Object.values(value).flatMap(exportTargets);
  return [];
}

/** True when npm would publish `path` (relative to the package) under these `files` entries. */
function published(files: string[], path: string): boolean {
  const clean = path.replace(/^\.\//, "");
  return clean === "package.json" || files.some((entry) => clean === entry || clean.startsWith(`${entry}/`));
}

/** The bare module specifiers imported by the TypeScript and JavaScript files under `dir`. */
function importedPackages(dir: string): Set<string> {
  const found = new Set<string>();
  if (!existsSync(dir)) return found;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !/\.(ts|mts|js|mjs)$/.test(entry.name)) continue;
    const text = readFileSync(join(entry.parentPath, entry.name), "utf8");
    for (const match of text.matchAll(/(?:from|import)\s*\(?\s*["']([^"'./][^"']*)["']/g)) {
      const parts = (match[1] as string).split("/");
      found.add((match[1] as string).startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] as string));
    }
  }
  return found;
}

describe("workspace package manifests", () => {
  it("the root names the repository and ships the licence the packages declare", () => {
    expect(rootManifest.repository).toEqual({ type: "git", url: REPOSITORY_URL });
    expect(rootManifest.license).toBe("Apache-2.0");
    expect(readFileSync(join(root, "LICENSE"), "utf8")).toContain("Apache License\n");
  });

  it("@prolong/protocol comes first, depends on nothing, and every package speaking the wire uses it", () => {
    const protocol = workspaces[0]?.manifest;
    expect(protocol?.name).toBe("@prolong/protocol");
    expect(protocol?.dependencies ?? {}).toEqual({});
    expect(protocol?.peerDependencies).toBeUndefined();
    expect(protocol?.sideEffects).toBe(false);
    for (const name of ["@prolong/core", "@prolong/server", "@prolong/verify", "@prolong/client"]) {
      const manifest = workspaces.find((w) => w.manifest.name === name)?.manifest;
      expect(manifest?.dependencies?.["@prolong/protocol"], name).toBe("0.1.0");
    }
  });

  for (const { dir, manifest } of workspaces) {
    describe(manifest.name, () => {
      it("declares its licence, repository directory, Node version and exports map", () => {
        expect(manifest.license).toBe(rootManifest.license);
        expect(manifest.repository).toEqual({ type: "git", url: REPOSITORY_URL, directory: dir });
        expect(manifest.engines?.node).toBe(">=20");
        expect(manifest.exports?.["."]).toBeDefined();
      });

      it("ships a LICENSE listed in files, the same text as the repository's", () => {
        expect(manifest.files).toContain("LICENSE");
        expect(readFileSync(join(root, dir, "LICENSE"), "utf8")).toBe(
          readFileSync(join(root, "LICENSE"), "utf8"),
        );
      });

      it("publishes every file its exports, types and bin point at", () => {
        const files = manifest.files ?? [];
        const targets = [
          ...exportTargets(manifest.exports),
          ...(manifest.types ? [manifest.types] : []),
          ...Object.values(manifest.bin ?? {}),
        ];
        for (const target of targets) expect(published(files, target), target).toBe(true);
      });

      it("has bins that are committed executables, so npm links them before anything is built", () => {
        for (const target of Object.values(manifest.bin ?? {})) {
          const path = relative(root, join(root, dir, target));
          // `git ls-files -s` prints the mode git records: 100755 for an executable file.
          const staged = execFileSync("git", ["ls-files", "-s", "--", path], { cwd: root, encoding: "utf8" });
          expect(staged, `${path} is committed`).toMatch(/^100755 /);
          expect(readFileSync(join(root, path), "utf8")).toMatch(/^#!\/usr\/bin\/env node\n/);
        }
      });

      it("does not depend at run time on what only its build uses", () => {
        const atRunTime = importedPackages(join(root, dir, "src"));
        const buildInputs = readdirSync(join(root, dir), { withFileTypes: true })
          .filter(
            (entry) =>
              entry.isDirectory() && !["src", "test", "dist", "public", "node_modules"].includes(entry.name),
          )
          .flatMap((entry) => [...importedPackages(join(root, dir, entry.name))]);
        const buildOnly = buildInputs.filter((name) => !atRunTime.has(name));
        for (const name of buildOnly)
          expect(Object.keys(manifest.dependencies ?? {}), name).not.toContain(name);
      });
    });
  }
});

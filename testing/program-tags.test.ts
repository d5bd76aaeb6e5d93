/**
 * A test file that launches Chromium must say so in a module tag comment (the tag
 * `chromium`, as the browser tests carry on their first line; one that runs nginx, the
 * tag `nginx`), or on a machine without it it fails instead of being skipped and named
 * (vitest.config.ts, testing/system-programs.ts). Read from the files themselves, so a new browser test
 * cannot forget it unnoticed.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory())
      return entry.name === "node_modules" || entry.name === "fixtures" ? [] : testFiles(path);
    return entry.name.endsWith(".test.ts") ? [path] : [];
  });
}

const allTestFiles = [
  join(root, "e2e"),
  ...readdirSync(join(root, "packages")).map((p) => join(root, "packages", p, "test")),
].flatMap((dir) => {
  try {
    return testFiles(dir);
  } catch {
    return [];
  }
});

describe("test files that need Chromium", () => {
  const files = allTestFiles.filter((path) => readFileSync(path, "utf8").includes("launchChromium("));

  it("are found", () => {
    expect(files.length).toBeGreaterThan(10);
  });

  it("carry the chromium module tag", () => {
    const untagged = files
      .filter((path) => !/^\/\/ @module-tag chromium$/m.test(readFileSync(path, "utf8")))
      .map((path) => relative(root, path));
    expect(untagged).toEqual([]);
  });
});

describe("test files that run nginx", () => {
  const files = allTestFiles.filter((path) => readFileSync(path, "utf8").includes("findNginx("));

  it("are found", () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it("carry the nginx module tag", () => {
    const untagged = files
      .filter((path) => !/^\/\/ @module-tag nginx$/m.test(readFileSync(path, "utf8")))
      .map((path) => relative(root, path));
    expect(untagged).toEqual([]);
  });
});

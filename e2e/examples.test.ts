import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = fileURLToPath(new URL("..", import.meta.url));

/**
 * The text of every source file under examples/ (what e2e/own-login-examples.test.ts runs);
 * not an example's installed packages or build output (node_modules, build, dot folders
 * such as .svelte-kit), which a test may be writing or removing meanwhile.
 */
function exampleSources(): Map<string, string> {
  const generated = (name: string) => name === "node_modules" || name === "build" || name.startsWith(".");
  const walk = (dir: string): string[] =>
    readdirSync(join(root, "examples", dir), { withFileTypes: true }).flatMap((entry) => {
      const path = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.isDirectory()) return generated(entry.name) ? [] : walk(path);
      return /\.(mjs|js|html)$/.test(entry.name) ? [path] : [];
    });
  return new Map(walk("").map((file) => [file, readFileSync(join(root, "examples", file), "utf8")]));
}

/** The fenced blocks of a Markdown text in the given language, without their fences. */
function codeBlocks(markdown: string, language: string): string[] {
  return [...markdown.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)]
    .filter((match) => match[1] === language)
    .map((match) => (match[2] as string).replace(/\n$/, ""));
}

// Examples in the docs must keep working: run them as a reader would.
describe("examples", () => {
  it("examples/engine.mjs shows the grace window and reuse detection", async () => {
    const { stdout } = await run(process.execPath, ["examples/engine.mjs"]);
    expect(stdout).toContain("returns the same successor: true");
    expect(stdout).toContain("replay a minute later: reuse_detected");
    expect(stdout).toContain("the whole session is gone: session_revoked");
  });

  it("docs/own-login.md quotes the examples: every JavaScript block is in one of their files, its imports among that file's", () => {
    const blocks = codeBlocks(readFileSync(join(root, "docs/own-login.md"), "utf8"), "js");
    expect(blocks.length).toBeGreaterThan(10);
    const sources = [...exampleSources().values()];
    // A block may open with the import lines it needs, taken from the top of the file
    // it quotes; the rest is quoted as it stands.
    const quoted = (block: string, source: string) => {
      const imports = /^(?:import [^\n]+\n)+\n/.exec(block)?.[0] ?? "";
      const lines = imports.split("\n").filter((line) => line !== "");
      return (
        source.includes(block.slice(imports.length)) && lines.every((line) => source.includes(`${line}\n`))
      );
    };
    const notQuoted = blocks.filter((block) => !sources.some((source) => quoted(block, source)));
    expect(notQuoted).toEqual([]);
  });
});

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type CodeBlock,
  codeBlocks,
  documentationFiles,
  formatProblem,
  type SnippetProblem,
  snippetModules,
  typeCheck,
} from "./doc-snippets.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const files = documentationFiles(root);
const blocks = files.flatMap((file) => codeBlocks(file, readFileSync(join(root, file), "utf8")));

/** Checks Markdown texts given here, as if they were files of the repository. */
function problemsOf(markdown: Record<string, string>): string[] {
  const given = Object.entries(markdown).flatMap(([file, text]) => codeBlocks(file, text));
  const { modules, problems } = snippetModules(root, given);
  return [...problems, ...typeCheck(modules)].map(formatProblem);
}

describe("the code blocks of README.md, docs/*.md and packages/*/README.md", () => {
  let problems: SnippetProblem[];
  beforeAll(() => {
    const { modules, problems: markers } = snippetModules(root, blocks);
    problems = [...markers, ...typeCheck(modules)].sort((a, b) => a.line - b.line);
  }, 120_000);

  it("are found: JavaScript and TypeScript blocks in the guide and the packages' READMEs", () => {
    const checked = (block: CodeBlock) => /^(js|mjs|jsx|ts|mts|tsx)$/.test(block.language);
    expect(
      blocks.filter((block) => block.file === "docs/own-login.md" && checked(block)).length,
    ).toBeGreaterThan(10);
    expect(new Set(blocks.filter(checked).map((block) => block.file)).size).toBeGreaterThan(8);
  });

  it.each(files)("%s: every JavaScript and TypeScript block type-checks, with its imports", (file) => {
    expect(problems.filter((problem) => problem.file === file).map(formatProblem)).toEqual([]);
  });

  it("leave no error elsewhere (files the blocks import, the project)", () => {
    expect(problems.filter((problem) => !files.includes(problem.file)).map(formatProblem)).toEqual([]);
  });

  it("that are JSON parse", () => {
    const unparsable = blocks
      .filter((block) => block.language === "json")
      .flatMap((block) => {
        try {
          JSON.parse(block.code);
          return [];
        } catch (error) {
          return [`${block.file}:${block.line}: ${(error as Error).message}`];
        }
      });
    expect(unparsable).toEqual([]);
  });
});

describe("the check itself", () => {
  it("names the Markdown line of a block that uses a name it does not import", () => {
    const guide = [
      "# A guide",
      "",
      "```js",
      'import { createVerifier } from "@prolong/verify";',
      "",
      'await createVerifier({ issuer: "http://localhost:1", audience: "prolong", jwksUri: "http://localhost:1/jwks" });',
      "```",
      "",
      "```js",
      'const prolong = await createProlong({ issuer: "http://localhost:1/auth" });',
      "```",
    ].join("\n");
    expect(problemsOf({ "docs/a-guide.md": guide })).toEqual([
      "docs/a-guide.md:10: Cannot find name 'createProlong'.",
    ]);
  });

  it("finds wrong options and members of prolong's packages, in JavaScript and TypeScript", () => {
    const readme = [
      "```ts",
      'import { createVerifier } from "@prolong/verify";',
      'await createVerifier({ issuer: "i", audience: "a", jwksUrl: "u" });',
      "```",
      "",
      "  ```js",
      '  import { createSessionClient } from "@prolong/client";',
      '  createSessionClient({ issuer: "i" }).refreshNow();',
      "  ```",
    ].join("\n");
    const problems = problemsOf({ "packages/verify/README.md": readme });
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^packages\/verify\/README\.md:3: .*'jwksUrl'/);
    expect(problems[1]).toMatch(/^packages\/verify\/README\.md:8: Property 'refreshNow' does not exist/);
  });

  it("joins the blocks that are part of one file, resolving its relative imports, and skips fragments with a reason", () => {
    const guide = [
      "<!-- snippet: part of ../examples/express-own-login/server.mjs -->",
      "```js",
      'import express from "express";',
      'import { checkPassword } from "./users.mjs";',
      "",
      "const app = express();",
      "```",
      "",
      "<!-- snippet: part of ../examples/express-own-login/server.mjs -->",
      "```js",
      'app.post("/login", async (req, res) => res.json(await checkPassword(req.body.username, req.body.password)));',
      "checkPassword(1, 2, 3);",
      "```",
      "",
      "<!-- snippet: fragment: one property of the options above -->",
      "```js",
      "  allowedOrigins: [spaOrigin],",
      "```",
      "",
      "<!-- snippet: fragment -->",
      "```js",
      "nothing(",
      "```",
      "<!-- snippet: prat of x.mjs -->",
      "```js",
      "```",
    ].join("\n");
    const problems = problemsOf({ "docs/b-guide.md": guide });
    expect(problems).toEqual([
      "docs/b-guide.md:21: a fragment says why: <!-- snippet: fragment: REASON -->",
      'docs/b-guide.md:25: unknown marker "prat of x.mjs": use "part of FILE" or "fragment: REASON"',
      "docs/b-guide.md:12: Expected 0-2 arguments, but got 3.",
    ]);
  });
});

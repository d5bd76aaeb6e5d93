import { readdirSync } from "node:fs";
import { basename, dirname, extname, join } from "node:path";
import ts from "typescript";

// The code blocks of the documentation, type-checked as the modules a reader would paste
// them into. A block is its own module unless the comment right before it says otherwise:
//
//   <!-- snippet: part of ../examples/express-own-login/server.mjs -->
//     the block is part of a module: the blocks of one Markdown file naming the same file
//     (relative to the Markdown file, as its links are; it need not exist) are joined in
//     order and checked as one module placed beside it, so relative imports resolve as
//     that file's do. Several files may be named, comma-separated.
//   <!-- snippet: fragment: REASON -->
//     a deliberate excerpt, not checked; the reason is required.

/** Languages whose blocks are type-checked, and the extension of the module each becomes. */
const MODULE_EXTENSIONS: Record<string, string> = {
  js: ".mjs",
  mjs: ".mjs",
  jsx: ".jsx",
  ts: ".mts",
  mts: ".mts",
  tsx: ".tsx",
};

/** A fenced code block of a Markdown file. */
export interface CodeBlock {
  /** The Markdown file, relative to the repository root. */
  file: string;
  /** The line of the block's first line of code (1-based). */
  line: number;
  /** The fence's language (`js`, `sh`, …), `""` without one. */
  language: string;
  /** The code, without its fences and without the fence's indentation. */
  code: string;
  /** The `<!-- snippet: … -->` comment before the block, without its delimiters; `null` without one. */
  marker: string | null;
}

/** Something wrong with a block: where, and what. */
export interface SnippetProblem {
  file: string;
  line: number;
  message: string;
}

/** `file:line: message`, as editors link it. */
export const formatProblem = ({ file, line, message }: SnippetProblem) => `${file}:${line}: ${message}`;

/** The documentation whose code blocks readers copy: the root README, docs/*.md and every package's README. */
export function documentationFiles(root: string): string[] {
  const docs = readdirSync(join(root, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => `docs/${name}`);
  const packages = readdirSync(join(root, "packages"), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => `packages/${entry.name}/README.md`)
    .filter((path) => ts.sys.fileExists(join(root, path)));
  return ["README.md", ...docs.sort(), ...packages.sort()];
}

/** The fenced (```) code blocks of a Markdown text, indented ones (inside lists) included. */
export function codeBlocks(file: string, markdown: string): CodeBlock[] {
  const lines = markdown.split("\n");
  const blocks: CodeBlock[] = [];
  for (let index = 0; index < lines.length; index++) {
    const open = /^( *)```\s*([\w-]*)/.exec(lines[index] as string);
    if (!open) continue;
    const indent = (open[1] as string).length;
    const close = lines.findIndex((text, at) => at > index && /^ *```\s*$/.test(text));
    const end = close === -1 ? lines.length : close;
    const code = lines
      .slice(index + 1, end)
      .map((text) => text.slice(Math.min(indent, text.length - text.trimStart().length)))
      .join("\n");
    let before = index - 1;
    while (before >= 0 && (lines[before] as string).trim() === "") before--;
    const comment = /^\s*<!--\s*snippet:\s*(.*?)\s*-->\s*$/.exec(lines[before] ?? "");
    blocks.push({
      file,
      line: index + 2,
      language: open[2] as string,
      code,
      marker: comment ? (comment[1] as string) : null,
    });
    index = end;
  }
  return blocks;
}

/** A module made of one block, or of the blocks that are part of one file. */
interface SnippetModule {
  /** Where the module is placed for resolution: a path no file has. */
  path: string;
  text: string;
  /** Its blocks, each with the module line it starts at (0-based). */
  parts: { block: CodeBlock; start: number }[];
}

/** The modules the blocks of Markdown files make, and the problems of their markers. */
export function snippetModules(
  root: string,
  blocks: CodeBlock[],
): { modules: SnippetModule[]; problems: SnippetProblem[] } {
  const modules = new Map<string, SnippetModule>();
  const problems: SnippetProblem[] = [];
  const add = (path: string, block: CodeBlock) => {
    const module = modules.get(path) ?? { path, text: "", parts: [] };
    const start = module.text === "" ? 0 : module.text.split("\n").length;
    module.text = module.text === "" ? block.code : `${module.text}\n${block.code}`;
    module.parts.push({ block, start });
    modules.set(path, module);
  };
  for (const block of blocks) {
    const extension = MODULE_EXTENSIONS[block.language];
    if (extension === undefined) continue;
    const where = `${block.file}.${block.line}`;
    if (block.marker === null) {
      add(join(root, `${where}.snippet${extension}`), block);
      continue;
    }
    const fragment = /^fragment(?::\s*(.*))?$/.exec(block.marker);
    if (fragment) {
      if (!fragment[1]) {
        problems.push({ ...at(block), message: "a fragment says why: <!-- snippet: fragment: REASON -->" });
      }
      continue;
    }
    const partOf = /^part of (.+)$/.exec(block.marker);
    if (!partOf) {
      problems.push({
        ...at(block),
        message: `unknown marker "${block.marker}": use "part of FILE" or "fragment: REASON"`,
      });
      continue;
    }
    for (const file of (partOf[1] as string).split(",").map((name) => name.trim())) {
      const name = `${basename(block.file)}.${basename(file, extname(file))}.snippet${extension}`;
      add(join(root, dirname(block.file), dirname(file), name), block);
    }
  }
  return { modules: [...modules.values()], problems };
}

/** Where a block starts, for a problem that is about the whole block. */
const at = (block: CodeBlock) => ({ file: block.file, line: block.line - 1 });

const common: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  moduleDetection: ts.ModuleDetectionKind.Force,
  // Readers' code runs in Node and in browsers: both sets of globals.
  lib: ["lib.es2023.d.ts", "lib.dom.d.ts", "lib.dom.iterable.d.ts"],
  types: ["node"],
  jsx: ts.JsxEmit.ReactJSX,
  allowJs: true,
  checkJs: true,
  noEmit: true,
  skipLibCheck: true,
};

/** TypeScript blocks as a strict project compiles them; JavaScript ones without strictness. */
const OPTIONS = {
  typescript: { ...common, strict: true },
  javascript: { ...common, strict: false },
};

/**
 * What is an error in a JavaScript block: what a reader running it would meet too. Syntax
 * (codes below 2000), names without a declaration or import (2304, 2552, 18004, 2448,
 * 2451, 2300), modules and exports that do not exist (2307, 2305, 2724), members that a
 * known type does not have (2339, 2551), options nobody reads (2353, 2561), the wrong
 * number of arguments (2554, 2555). Not types only TypeScript could prove: a request body
 * or `event.currentTarget` are as loosely typed in JavaScript as they are at run time.
 */
const JAVASCRIPT_ERRORS = new Set([
  2304, 2552, 18004, 2448, 2451, 2300, 2307, 2305, 2724, 2339, 2551, 2353, 2561, 2554, 2555,
]);

function reported(diagnostic: ts.Diagnostic, kind: string): boolean {
  if (kind === "typescript" || diagnostic.code < 2000) return true;
  if (!JAVASCRIPT_ERRORS.has(diagnostic.code)) return false;
  // A member of a value JavaScript knows nothing about (an untyped request body).
  const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n");
  return !(diagnostic.code === 2339 && /on type '(\{\}|unknown)'/.test(message));
}

/**
 * Type-checks the modules against the workspace's packages as built (`@prolong/*` resolve
 * through node_modules to each package's `exports`, its `dist/` types), without writing
 * them anywhere: each is read from memory at its path in the repository.
 */
export function typeCheck(modules: SnippetModule[]): SnippetProblem[] {
  const problems: SnippetProblem[] = [];
  const isTypeScript = (module: SnippetModule) => /\.(mts|tsx)$/.test(module.path);
  for (const [kind, options] of Object.entries(OPTIONS)) {
    const these = modules.filter((module) => isTypeScript(module) === (kind === "typescript"));
    if (these.length === 0) continue;
    const byPath = new Map(these.map((module) => [ts.sys.resolvePath(module.path), module]));
    const host = ts.createCompilerHost(options);
    const { getSourceFile, fileExists, readFile } = host;
    host.getSourceFile = (name, language, ...rest) => {
      const module = byPath.get(name);
      return module
        ? ts.createSourceFile(name, module.text, language, true)
        : getSourceFile.call(host, name, language, ...rest);
    };
    host.fileExists = (name) => byPath.has(name) || fileExists.call(host, name);
    host.readFile = (name) => byPath.get(name)?.text ?? readFile.call(host, name);
    const program = ts.createProgram([...byPath.keys()], options, host);
    for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
      if (reported(diagnostic, kind)) problems.push(located(diagnostic, byPath));
    }
  }
  return problems;
}

/** A diagnostic at the Markdown line of the block it is in (or at its own file's line). */
function located(diagnostic: ts.Diagnostic, byPath: Map<string, SnippetModule>): SnippetProblem {
  const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n");
  const { file, start } = diagnostic;
  if (!file || start === undefined) return { file: "(project)", line: 0, message };
  const { line } = file.getLineAndCharacterOfPosition(start);
  const module = byPath.get(file.fileName);
  if (!module) return { file: file.fileName, line: line + 1, message };
  const part = module.parts.findLast((candidate) => candidate.start <= line) ?? module.parts[0];
  const block = (part as SnippetModule["parts"][number]).block;
  return { file: block.file, line: block.line + line - (part as { start: number }).start, message };
}

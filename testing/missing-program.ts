/**
 * Setup file of a project whose every test needs a program this machine lacks (a per-store
 * project without its database server; see `wholeProjectSkip` in system-programs.ts).
 * Each test is skipped before it and its `beforeEach` hooks run (those suites open their
 * stores inside tests, never in `beforeAll`), and marked, so the run ends with the line
 * that says what to install.
 */
import { beforeEach } from "vitest";
import { isSystemProgramName } from "./system-programs.js";

const name = process.env.PROLONG_MISSING_PROGRAM;
if (!isSystemProgramName(name)) {
  throw new Error(`PROLONG_MISSING_PROGRAM must name a system program, not ${JSON.stringify(name)}`);
}

beforeEach((context) => {
  context.task.meta.missingProgram = name;
  context.skip(`needs ${name}`);
});

import type { Reporter, TestModule } from "vitest/node";
import { type SystemProgramName, skipLine, systemProgramNames } from "../testing/system-programs.js";

export interface Tally {
  passed: number;
  failed: number;
  skipped: number;
  /** The tests skipped because this machine lacks a program they need, per program (testing/system-programs.ts). */
  missing: Map<SystemProgramName, { tests: number; files: number }>;
}

/**
 * Counts the tests of a run by outcome. A test file that failed outside its tests (it
 * threw while loading, or a top-level hook threw) has no failed test to show for it, so it
 * counts as one failure itself: a broken run never reads "0 failed". Skipped tests marked
 * with the program they lacked are also counted per program and test file.
 */
export function tally(modules: ReadonlyArray<TestModule>): Tally {
  const counts: Tally = { passed: 0, failed: 0, skipped: 0, missing: new Map() };
  for (const module of modules) {
    let failedTests = 0;
    const lacked = new Set<SystemProgramName>();
    for (const test of module.children.allTests()) {
      const state = test.result().state;
      if (state === "passed") counts.passed++;
      else if (state === "failed") failedTests++;
      else {
        counts.skipped++;
        const program = test.meta().missingProgram;
        if (state === "skipped" && program) {
          const entry = counts.missing.get(program) ?? { tests: 0, files: 0 };
          entry.tests++;
          if (!lacked.has(program)) entry.files++;
          lacked.add(program);
          counts.missing.set(program, entry);
        }
      }
    }
    const moduleFailed = module.state() === "failed" || module.errors().length > 0;
    counts.failed += failedTests === 0 && moduleFailed ? 1 : failedTests;
  }
  return counts;
}

/**
 * Ends the run with one line per program some tests lacked, saying what to install, then
 * one plain "N passed, N failed" line, which any CI log reader understands.
 */
export class PlainSummary implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const { passed, failed, skipped, missing } = tally(modules);
    const lines = systemProgramNames.flatMap((name) => {
      const entry = missing.get(name);
      return entry ? [skipLine(name, entry.tests, entry.files)] : [];
    });
    const summary = `${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`;
    process.stdout.write(`\n${[...lines, summary].join("\n")}\n`);
  }
}

import type { Reporter, TestModule } from "vitest/node";

export interface Tally {
  passed: number;
  failed: number;
  skipped: number;
}

/**
 * Counts the tests of a run by outcome. A test file that failed outside its tests (it
 * threw while loading, or a top-level hook threw) has no failed test to show for it, so it
 * counts as one failure itself: a broken run never reads "0 failed".
 */
export function tally(modules: ReadonlyArray<TestModule>): Tally {
  const counts: Tally = { passed: 0, failed: 0, skipped: 0 };
  for (const module of modules) {
    let failedTests = 0;
    for (const test of module.children.allTests()) {
      const state = test.result().state;
      if (state === "passed") counts.passed++;
      else if (state === "failed") failedTests++;
      else counts.skipped++;
    }
    const moduleFailed = module.state() === "failed" || module.errors().length > 0;
    counts.failed += failedTests === 0 && moduleFailed ? 1 : failedTests;
  }
  return counts;
}

/** Ends the run with one plain "N passed, N failed" line, which any CI log reader understands. */
export class PlainSummary implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const { passed, failed, skipped } = tally(modules);
    process.stdout.write(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}\n`);
  }
}

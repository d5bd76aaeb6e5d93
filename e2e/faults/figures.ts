import { mkdirSync, writeFileSync } from "node:fs";

/**
 * What a fault test measured (requests in flight when the fault struck, sessions checked,
 * sessions lost…), written as `e2e/.results/faults/<case>.json` (git-ignored) so the
 * fault table in docs/security.md ("Faults") quotes numbers a run produced, not guesses.
 * One file per case: test files run in parallel processes and must not share one.
 */
export function recordFigures(name: string, figures: Record<string, unknown>): void {
  const dir = new URL("../.results/faults/", import.meta.url);
  mkdirSync(dir, { recursive: true });
  const at = new URL(`${name}.json`, dir);
  writeFileSync(
    at,
    `${JSON.stringify({ case: name, measuredAt: new Date().toISOString(), node: process.version, figures }, null, 2)}\n`,
  );
}

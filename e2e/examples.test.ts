import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);

// Examples in the docs must keep working: run them as a reader would.
describe("examples", () => {
  it("examples/engine.mjs shows the grace window and reuse detection", async () => {
    const { stdout } = await run(process.execPath, ["examples/engine.mjs"]);
    expect(stdout).toContain("returns the same successor: true");
    expect(stdout).toContain("replay a minute later: reuse_detected");
    expect(stdout).toContain("the whole session is gone: session_revoked");
  });
});

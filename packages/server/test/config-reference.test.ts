import { readFileSync } from "node:fs";
import { defaultPolicy } from "@prolong/core";
import { configReference, configSettings } from "@prolong/server";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { allSettings, settingDocs, settingsOf } from "../src/setting-tree.js";

const committed = readFileSync(new URL("../../../docs/configuration.md", import.meta.url), "utf8");
const reference = configReference();

/** The row of the reference that documents `path`, split into its cells. */
function row(path: string): string[] {
  const line = reference.split("\n").find((l) => l.startsWith(`| \`${path}\` |`));
  if (!line) throw new Error(`no row for ${path}`);
  return line
    .slice(2, -2)
    .split(" | ")
    .map((cell) => cell.trim());
}

describe("the configuration reference", () => {
  it("is committed as generated from the schema", () => {
    expect(
      committed,
      "docs/configuration.md is out of date: run `npm run build && node packages/server/scripts/config-reference.mjs` and commit it",
    ).toBe(reference);
  });

  it("has a row for every setting that holds a value, nested ones too", () => {
    const leaves = allSettings(configSettings).filter((s) => s.children.length === 0);
    expect(leaves.length).toBeGreaterThan(25);
    for (const setting of leaves) {
      const cells = row(setting.path.join("."));
      expect(cells.at(-1)).toBe(setting.doc.description);
    }
  });

  it("documents the settings that were documented nowhere", () => {
    expect(row("profiles.<name>.accessTokenTtl")[1]).toBe("integer (1 to 86400 s, 1 day)");
    expect(row("demo")).toContain("`PROLONG_DEMO`");
    expect(row("demo")).toContain("`--demo`");
    expect(row("trustProxy")[1]).toBe("`false`, integer (0 to 10) or list of 1 to 100 strings");
    expect(row("clients.<id>.profile")[2]).toBe("`web`: `web`; `native`: `native`");
    expect(row("store")[5]).toContain("`memory:`");
  });

  it("takes types, bounds and defaults from the schema and the default policy", () => {
    expect(row("port").slice(0, 5)).toEqual([
      "`port`",
      "integer (0 to 65535)",
      "`3000`",
      "`PROLONG_PORT`",
      "`--port <n>`",
    ]);
    const { web, native } = defaultPolicy().profiles;
    expect(row("profiles.<name>.idleTimeout")[2]).toBe(
      `\`web\`: \`${web?.idleTimeout}\` (7 days); \`native\`: \`${native?.idleTimeout}\` (90 days)`,
    );
    expect(row("rateLimits.loginPerAccount.max")[2]).toBe("`10`");
    expect(row("alg")[1]).toBe("one of `EdDSA`, `ES256`, `RS256`, `HS256`");
  });

  it("refuses a setting without a description, naming it", () => {
    const documented = z.object({
      a: z.number().register(settingDocs, { description: "A number." }),
      nested: z.object({ b: z.string() }).register(settingDocs, { description: "Nested." }),
    });
    expect(() => settingsOf(documented)).toThrow("setting nested.b has no description");
  });
});

describe("the settings tree", () => {
  it("refuses a required field in a group of settings, which overrides overlay field by field", () => {
    const group = z.object({
      nested: z
        .object({ b: z.string().register(settingDocs, { description: "B." }) })
        .register(settingDocs, { description: "Nested." }),
    });
    expect(() => settingsOf(group)).toThrow("setting nested.b must be optional: it overlays a default");
  });
});

// @module-tag chromium
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Bar, type Plot, renderAll, renderPlot } from "../bench/plot.mjs";
import { launchChromium } from "./browser.js";

// bench/plot.mjs draws the benches' bar charts by hand; a real XML parser (Chromium's
// DOMParser) reads them back, as a browser showing docs/benchmarks.md would.

const sample: Plot = {
  id: "sample-throughput",
  title: "Refreshes <per> second & more",
  unit: "req/s",
  note: "16 connections, best of 2 rounds",
  bars: [
    { label: "prolong POST /oauth/token", value: 4000, group: "prolong" },
    { label: 'peer "A" GET /token', value: 500, group: "peers" },
    { label: "peer B GET /session", value: 1000, group: "peers" },
  ],
};

interface Parsed {
  error: string | null;
  root: string;
  bars: { width: number; fill: string; title: string }[];
  texts: string[];
}

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

async function parse(svg: string): Promise<Parsed> {
  const page = await browser.newPage();
  try {
    return await page.evaluate((text) => {
      const doc = new DOMParser().parseFromString(text, "image/svg+xml");
      return {
        error: doc.querySelector("parsererror")?.textContent ?? null,
        root: doc.documentElement.nodeName,
        bars: [...doc.querySelectorAll("g.bar")].map((g) => ({
          width: Number(g.querySelector("rect")?.getAttribute("width")),
          fill: g.querySelector("rect")?.getAttribute("fill") ?? "",
          title: g.querySelector("title")?.textContent ?? "",
        })),
        texts: [...doc.querySelectorAll("text")].map((t) => t.textContent ?? ""),
      };
    }, svg);
  } finally {
    await page.close();
  }
}

describe("bench/plot.mjs", () => {
  it("draws a well-formed SVG with one bar per entry, sized to its value, labelled and valued", async () => {
    const parsed = await parse(renderPlot(sample));
    expect(parsed.error).toBeNull();
    expect(parsed.root).toBe("svg");
    expect(parsed.bars).toHaveLength(3);
    const [prolong, a, b] = parsed.bars as [Parsed["bars"][0], Parsed["bars"][0], Parsed["bars"][0]];
    // Widths are proportional to the values (4000 : 500 : 1000).
    expect(prolong.width / a.width).toBeCloseTo(8, 1);
    expect(b.width / a.width).toBeCloseTo(2, 1);
    // Markup in titles and labels arrives as text, not as elements.
    expect(parsed.texts).toContain("Refreshes <per> second & more");
    expect(parsed.texts).toContain('peer "A" GET /token');
    for (const value of ["4,000", "500", "1,000"]) expect(parsed.texts).toContain(value);
    expect(parsed.texts.some((t) => t.startsWith("req/s · 16 connections"))).toBe(true);
    expect(a.title).toBe('peer "A" GET /token: 500 req/s');
  });

  it("colours bars by group and names each group once in a legend, prolong's first", async () => {
    // prolong's bar last here: its series still takes the first colour and legend entry.
    const [first, second, third] = sample.bars as [Bar, Bar, Bar];
    const parsed = await parse(renderPlot({ ...sample, bars: [second, third, first] }));
    const [a, b, prolong] = parsed.bars as [Parsed["bars"][0], Parsed["bars"][0], Parsed["bars"][0]];
    expect(a.fill).toBe(b.fill);
    expect(prolong.fill).toBe("#0072B2");
    expect(a.fill).not.toBe(prolong.fill);
    const legend = parsed.texts.filter((t) => t === "prolong" || t === "peers");
    expect(legend).toEqual(["prolong", "peers"]);
    const ungrouped = await parse(
      renderPlot({ ...sample, bars: sample.bars.map(({ label, value }) => ({ label, value })) }),
    );
    expect(ungrouped.error).toBeNull();
    expect(ungrouped.texts).not.toContain("peers");
  });

  it("refuses a plot id that is not a plain file name, and a plot without values", () => {
    expect(() => renderPlot({ ...sample, id: "../outside" })).toThrow(/kebab-case/);
    expect(() => renderPlot({ ...sample, bars: [] })).toThrow(/no bars/);
  });

  it("renders every plot of every results file and skips files without plots", () => {
    const dir = mkdtempSync(join(tmpdir(), "prolong-plot-"));
    try {
      const results = join(dir, "results");
      const out = join(dir, "out");
      mkdirSync(results);
      writeFileSync(join(results, "one.json"), JSON.stringify({ bench: "one", rows: [], plots: [sample] }));
      writeFileSync(join(results, "old.json"), JSON.stringify([{ name: "no plots here" }]));
      const second = { ...sample, id: "sample-cpu", unit: "µs/req" };
      writeFileSync(join(results, "two.json"), JSON.stringify({ bench: "two", rows: [], plots: [second] }));
      const written = renderAll(results, out);
      expect(written.map((w) => w.id).sort()).toEqual(["sample-cpu", "sample-throughput"]);
      expect(readdirSync(out).sort()).toEqual(["sample-cpu.svg", "sample-throughput.svg"]);
      expect(readFileSync(join(out, "sample-cpu.svg"), "utf8")).toContain("µs/req");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

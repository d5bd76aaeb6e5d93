// Types of bench/plot.mjs, for the test that draws a sample plot (e2e/bench-plot.test.ts).

/** One bar: its label, its value in the plot's unit, and the series it belongs to. */
export interface Bar {
  label: string;
  value: number;
  group?: string;
}

/** A `plots` entry of a bench/results/<name>.json file. */
export interface Plot {
  id: string;
  title: string;
  unit: string;
  note?: string;
  bars: Bar[];
}

export function escapeXml(text: unknown): string;
export function formatValue(value: number): string;
export function renderPlot(plot: Plot): string;
export function renderAll(resultsDir: string, outDir: string): { id: string; from: string }[];

// Draws every `plots` entry of every bench/results/*.json as a horizontal bar chart in
// docs/benchmarks/<id>.svg: plain SVG written by hand, no dependency.
// Run after the benches: node bench/plot.mjs [--results DIR] [--out DIR]
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { benchOptions } from "./lib/args.mjs";

// The types are plot.d.mts's, which the module's users read.
/** @typedef {import("./plot.mjs").Bar} Bar */
/** @typedef {import("./plot.mjs").Plot} Plot */

const WIDTH = 800;
const PAD = 20;
const ROW = 30;
const BAR = 20;
const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif";
/** Okabe–Ito colours, told apart by colour-blind readers too; prolong's series gets the first. */
const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#999999", "#F0E442"];
/** Plot ids become file names: nothing but lowercase words joined by dashes. */
const ID = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** @type {Record<string, string>} */
const ENTITIES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" };

/**
 * Text safe inside an SVG element or attribute.
 * @param {unknown} text
 */
export function escapeXml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

/**
 * 12,345 for large values, 0.87 for small ones, as a reader would write them.
 * @param {number} value
 */
export function formatValue(value) {
  const abs = Math.abs(value);
  if (Number.isInteger(value) || abs >= 100) return Math.round(value).toLocaleString("en-US");
  return value.toFixed(abs >= 10 ? 1 : 2);
}

/**
 * A gridline's value with as many decimals as the step between gridlines needs.
 * @param {number} value
 * @param {number} step
 */
function formatTick(value, step) {
  const decimals = step >= 1 ? 0 : Math.min(6, Math.ceil(-Math.log10(step) - 1e-9));
  return value.toLocaleString("en-US", { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

/** Width of `text` at `size` px, estimated (no font metrics in a hand-written SVG). */
const textWidth = (/** @type {unknown} */ text, /** @type {number} */ size) =>
  String(text).length * size * 0.56;

/**
 * Splits `text` into lines of at most `max` characters at spaces.
 * @param {unknown} text
 * @param {number} max
 */
function wrap(text, max) {
  /** @type {string[]} */
  const lines = [];
  let line = "";
  for (const word of String(text).split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > max) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/**
 * A round step (1, 2 or 5 times a power of ten) giving about `count` gridlines up to `max`.
 * @param {number} max
 */
function tickStep(max, count = 4) {
  if (!(max > 0)) return 1;
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const scaled = raw / power;
  return (scaled <= 1 ? 1 : scaled <= 2 ? 2 : scaled <= 5 ? 5 : 10) * power;
}

/**
 * Dark text on light bars, white on dark ones (relative luminance, WCAG).
 * @param {string} hex `#rrggbb`
 */
function textOn(hex) {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = Number.parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * (r ?? 0) + 0.7152 * (g ?? 0) + 0.0722 * (b ?? 0) > 0.3 ? "#1a1a1a" : "#ffffff";
}

/**
 * Colour per group, in order of first appearance; a group named after prolong comes first.
 * @param {readonly Bar[]} bars
 * @returns {Map<string, string>}
 */
function colours(bars) {
  /** @type {string[]} */
  const groups = [];
  for (const { group } of bars)
    if (group !== undefined && group !== null && !groups.includes(group)) groups.push(group);
  const ours = groups.filter((g) => /prolong/i.test(g));
  const ordered = [...ours, ...groups.filter((g) => !ours.includes(g))];
  return new Map(ordered.map((group, i) => [group, PALETTE[i % PALETTE.length] ?? "#999999"]));
}

/**
 * One plot (`{ id, title, unit, note?, bars: [{ label, value, group? }] }`) as an SVG
 * document: a horizontal bar per entry, its value printed on it, a legend when bars
 * carry groups. The plot comes from a results file: what it lacks is an error, not a crash.
 * @param {Plot} plot
 */
export function renderPlot(plot) {
  if (!ID.test(plot.id ?? "")) throw new Error(`plot id "${plot.id}" is not kebab-case`);
  const bars = (plot.bars ?? []).filter((bar) => Number.isFinite(bar.value));
  if (bars.length === 0) throw new Error(`plot ${plot.id} has no bars with a value`);
  const palette = colours(bars);
  const single = /** @type {string} */ (PALETTE[0]);
  const max = Math.max(...bars.map((bar) => bar.value), 0);
  const step = tickStep(max);
  const top = Math.max(step, Math.ceil(max / step) * step);

  const labelWidth = Math.min(340, Math.max(80, ...bars.map((bar) => textWidth(bar.label, 13) + 12)));
  const x0 = PAD + labelWidth;
  const valueRoom = Math.max(...bars.map((bar) => textWidth(formatValue(bar.value), 12))) + 14;
  const chartWidth = WIDTH - x0 - PAD - valueRoom;
  const scale = (/** @type {number} */ value) => (Math.max(0, value) / top) * chartWidth;

  const parts = [];
  let y = PAD + 18;
  parts.push(
    `<text x="${PAD}" y="${y}" font-size="18" font-weight="600" fill="#1a1a1a">${escapeXml(plot.title)}</text>`,
  );
  const subtitle = [plot.unit, plot.note].filter(Boolean).join(" · ");
  for (const line of wrap(subtitle, 105)) {
    y += 18;
    parts.push(`<text x="${PAD}" y="${y}" font-size="12.5" fill="#555555">${escapeXml(line)}</text>`);
  }
  const rowsTop = y + 16;
  const rowsBottom = rowsTop + bars.length * ROW;

  // Gridlines and their values, under the bars.
  for (let tick = 0; tick <= top + step / 2; tick += step) {
    const x = (x0 + scale(tick)).toFixed(1);
    parts.push(
      `<line x1="${x}" y1="${rowsTop - 4}" x2="${x}" y2="${rowsBottom}" stroke="${tick === 0 ? "#888888" : "#e3e3e3"}" stroke-width="1"/>`,
      `<text x="${x}" y="${rowsBottom + 15}" font-size="11" fill="#666666" text-anchor="middle">${escapeXml(formatTick(tick, step))}</text>`,
    );
  }

  bars.forEach((bar, i) => {
    const rowY = rowsTop + i * ROW;
    const barY = rowY + (ROW - BAR) / 2;
    const fill = (bar.group !== undefined && bar.group !== null && palette.get(bar.group)) || single;
    const width = scale(bar.value);
    const value = formatValue(bar.value);
    const inside = width > textWidth(value, 12) + 14;
    const label = escapeXml(bar.label);
    parts.push(
      `<g class="bar"><title>${label}: ${escapeXml(value)} ${escapeXml(plot.unit ?? "")}</title>`,
      `<text x="${x0 - 10}" y="${barY + BAR / 2 + 4.5}" font-size="13" fill="#1a1a1a" text-anchor="end">${label}</text>`,
      `<rect x="${x0}" y="${barY}" width="${width.toFixed(1)}" height="${BAR}" rx="2" fill="${fill}"/>`,
      inside
        ? `<text x="${(x0 + width - 6).toFixed(1)}" y="${barY + BAR / 2 + 4}" font-size="12" font-weight="600" fill="${textOn(fill)}" text-anchor="end">${escapeXml(value)}</text>`
        : `<text x="${(x0 + width + 6).toFixed(1)}" y="${barY + BAR / 2 + 4}" font-size="12" font-weight="600" fill="#1a1a1a">${escapeXml(value)}</text>`,
      "</g>",
    );
  });

  y = rowsBottom + 22;
  if (palette.size > 0) {
    // Legend: swatch and name per group, left to right, wrapping at the right edge.
    let x = x0;
    y += 14;
    for (const [group, fill] of palette) {
      const width = 18 + textWidth(group, 12) + 18;
      if (x + width > WIDTH - PAD && x > x0) {
        x = x0;
        y += 20;
      }
      parts.push(
        `<rect x="${x}" y="${y - 10}" width="12" height="12" rx="2" fill="${fill}"/>`,
        `<text x="${x + 18}" y="${y}" font-size="12" fill="#333333">${escapeXml(group)}</text>`,
      );
      x += width;
    }
  }
  const height = Math.ceil(y + PAD);
  const title = escapeXml(plot.title);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="${title}" font-family="${FONT}">`,
    `<title>${title}</title>`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    ...parts,
    "</svg>",
    "",
  ].join("\n");
}

/**
 * Renders every plot of every results file in `resultsDir` into `outDir`; returns what it wrote.
 * @param {string} resultsDir
 * @param {string} outDir
 */
export function renderAll(resultsDir, outDir) {
  /** @type {{ id: string, from: string }[]} */
  const written = [];
  const files = readdirSync(resultsDir)
    .filter((name) => name.endsWith(".json"))
    .sort();
  for (const name of files) {
    /** @type {{ plots?: unknown }} */
    let results;
    try {
      results = JSON.parse(readFileSync(join(resultsDir, name), "utf8"));
    } catch (error) {
      console.log(`${name}: not JSON (${/** @type {Error} */ (error).message}); skipped`);
      continue;
    }
    if (!Array.isArray(results.plots) || results.plots.length === 0) {
      console.log(`${name}: no plots; skipped`);
      continue;
    }
    for (const plot of /** @type {Plot[]} */ (results.plots)) {
      try {
        const svg = renderPlot(plot);
        mkdirSync(outDir, { recursive: true });
        writeFileSync(join(outDir, `${plot.id}.svg`), svg);
        written.push({ id: plot.id, from: name });
        console.log(`${name}: ${plot.id}.svg`);
      } catch (error) {
        console.log(`${name}: plot not drawn: ${/** @type {Error} */ (error).message}`);
      }
    }
  }
  return written;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const { results: resultsDir, out: outDir } = benchOptions({
    results: { type: "string", default: join(root, "bench", "results") },
    out: { type: "string", default: join(root, "docs", "benchmarks") },
  });
  /** @type {{ id: string, from: string }[]} */
  let written = [];
  try {
    written = renderAll(resultsDir, outDir);
  } catch (error) {
    console.error(`plot: ${/** @type {Error} */ (error).message}`);
    process.exitCode = 1;
  }
  console.log(`${written.length} plot(s) written to ${outDir}`);
}

import { type Browser, chromium } from "playwright-core";
import { findChromium, remedies } from "../testing/system-programs.js";

/**
 * Debian's Chromium, as CI installs it (`chromium` on PATH), or the binary PROLONG_CHROMIUM
 * names; `null` on a machine without it, where the files that need it are skipped (their
 * `@module-tag chromium`, testing/system-programs.ts). The network is closed, so nothing
 * may phone home.
 */
export const CHROMIUM = findChromium();

export function launchChromium(): Promise<Browser> {
  if (!CHROMIUM)
    throw new Error(`Chromium is not installed: the browser tests need it (${remedies.chromium})`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

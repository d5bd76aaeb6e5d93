import { type Browser, chromium } from "playwright-core";

/** Debian's Chromium, as CI installs it. The network is closed, so nothing may phone home. */
export const CHROMIUM = process.env.PROLONG_CHROMIUM ?? "/usr/bin/chromium";

export function launchChromium(): Promise<Browser> {
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

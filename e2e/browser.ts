import { type Browser, chromium } from "playwright-core";
import { findChromium, remedies } from "../testing/system-programs.js";

/**
 * Debian's Chromium, as CI installs it (`chromium` on PATH), or the binary PROLONG_CHROMIUM
 * names; `null` on a machine without it, where the files that need it are skipped (their
 * `@module-tag chromium`, testing/system-programs.ts). The network is closed, so nothing
 * may phone home.
 */
export const CHROMIUM = findChromium();

/** What a test may ask of the browser beyond the defaults. */
export interface ChromiumOptions {
  /**
   * Trusts the certificate with this SubjectPublicKeyInfo hash (e2e/tls.ts), for a test
   * that serves HTTPS on loopback.
   */
  trustSpki?: string;
  /**
   * Turns on Device Bound Session Credentials with software keys (this machine has no
   * TPM) and without Chromium's signing quota (6 per site per 9 minutes), which a test
   * that refreshes on purpose would exhaust. Needs `trustSpki`: DBSC runs on trusted
   * HTTPS only.
   */
  dbsc?: boolean;
}

/**
 * The features DBSC needs. Playwright passes an `--enable-features` of its own, and
 * Chromium keeps the last one on the command line, so this list is whole in itself.
 */
export const DBSC_FEATURES =
  "DeviceBoundSessions:RefreshQuota/false,EnableBoundSessionCredentialsSoftwareKeysForManualTesting";

export function launchChromium(options: ChromiumOptions = {}): Promise<Browser> {
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
      ...(options.trustSpki ? [`--ignore-certificate-errors-spki-list=${options.trustSpki}`] : []),
      ...(options.dbsc ? [`--enable-features=${DBSC_FEATURES}`] : []),
    ],
  });
}

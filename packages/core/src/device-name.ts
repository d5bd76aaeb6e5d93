/**
 * Device names (P7) are typed by users and shown back to them in lists of sessions, where
 * a name must not hide or reorder what is around it. So: no control characters, no
 * bidirectional overrides, isolates or marks (the reordering trick of CVE-2021-42574), no
 * zero-width characters, NFC, trimmed, and cut at whole user-perceived characters.
 */

/** The longest device name kept, in UTF-16 code units (what storage and layout pay for). */
export const DEVICE_NAME_MAX = 100;

/**
 * Control characters (C0, DEL, C1), the line and paragraph separators, bidi marks
 * (U+061C, U+200E, U+200F), embeddings and overrides (U+202A–U+202E), isolates
 * (U+2066–U+2069), and zero-width characters (U+200B, U+200C, U+2060, U+FEFF).
 */
const HIDDEN = /[\p{Cc}\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u200b\u200c\u2060\ufeff]/gu;

/**
 * U+200D (zero-width joiner) is hidden too, except inside an emoji sequence such as
 * 👩‍💻, where it is part of one visible picture and removing it would change the name.
 */
const LONE_JOINER =
  /(?<!\p{Extended_Pictographic}[\ufe0f\u{1f3fb}-\u{1f3ff}]?)\u200d|\u200d(?!\p{Extended_Pictographic})/gu;

/** Made on first use: loading ICU's segmentation rules costs milliseconds at every start otherwise. */
let graphemes: Intl.Segmenter | undefined;

/**
 * The name to keep for a device, or `null` when nothing visible is left (a sign-in
 * then simply has no device name).
 */
export function cleanDeviceName(value: string | null | undefined): string | null {
  if (typeof value !== "string") return null;
  const name = value.replace(HIDDEN, "").replace(LONE_JOINER, "").normalize("NFC").trim();
  if (name.length === 0) return null;
  return truncateGraphemes(name, DEVICE_NAME_MAX).trim() || null;
}

/**
 * The longest prefix of `text` made of whole graphemes (UAX #29) that fits in `max` code
 * units: never half a surrogate pair, a flag, an emoji sequence or a letter with its
 * accents. A single grapheme longer than `max` (a letter under hundreds of combining
 * marks) is cut between code points, which still never splits a surrogate pair.
 */
export function truncateGraphemes(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = 0;
  graphemes ??= new Intl.Segmenter(undefined, { granularity: "grapheme" });
  for (const { segment, index } of graphemes.segment(text)) {
    if (index + segment.length > max) {
      if (end === 0) return cutCodePoints(segment, max);
      break;
    }
    end = index + segment.length;
  }
  return text.slice(0, end);
}

function cutCodePoints(text: string, max: number): string {
  let out = "";
  for (const codePoint of text) {
    if (out.length + codePoint.length > max) break;
    out += codePoint;
  }
  return out;
}

/*
 * Names for sessions the user did not name, read from the user agent as a person would
 * say them: "Chrome on Linux", "Safari on iPhone". A small ordered table rather than a
 * parser: the engine runs anywhere and needs a label, not a version census. The raw
 * agent stays in the session's `userAgent`.
 *
 * Order matters, first match wins. Browsers built on Chromium carry "Chrome/" and
 * "Safari/" in their agents, and Chrome carries "Safari/", so each is named before the
 * engine it borrows from: Edge, Opera, Samsung Internet and the rest, then Chrome, then
 * Safari. Operating systems likewise: iOS agents say "like Mac OS X", Android and
 * ChromeOS ones say "Linux", so they come before macOS and Linux.
 */

/** Browsers by the token that names them in `User-Agent`. */
const BROWSERS: readonly (readonly [RegExp, string])[] = [
  [/\bEdg(?:e|A|iOS)?\//, "Edge"],
  [/\bOPR\/|\bOPiOS\/|\bOpera\b/, "Opera"],
  [/\bSamsungBrowser\//, "Samsung Internet"],
  [/\bVivaldi\//, "Vivaldi"],
  [/\bYaBrowser\//, "Yandex Browser"],
  [/\bUCBrowser\//, "UC Browser"],
  [/\bElectron\//, "Electron"],
  [/; wv\)/, "WebView"],
  [/\bFirefox\/|\bFxiOS\//, "Firefox"],
  [/\bChromium\//, "Chromium"],
  [/\b(?:Headless)?Chrome\/|\bCriOS\//, "Chrome"],
  [/\bVersion\/[\d.]+ (?:Mobile\/\S+ )?Safari\//, "Safari"],
  [/\bMSIE |\bTrident\//, "Internet Explorer"],
];

/** Systems by what their agents say; iPads that ask for desktop sites say "Macintosh". */
const SYSTEMS: readonly (readonly [RegExp, string])[] = [
  [/\biPad\b/, "iPad"],
  [/\biPhone\b/, "iPhone"],
  [/\biPod\b/, "iPod"],
  [/\bAndroid\b/, "Android"],
  [/\bCrOS\b/, "ChromeOS"],
  [/\bWindows\b/, "Windows"],
  [/\bMacintosh\b|\bMac OS X\b/, "macOS"],
  [/\bLinux\b|\bX11\b/, "Linux"],
];

/** The name of a session whose agent says nothing usable. */
export const UNKNOWN_DEVICE_NAME = "Unknown device";

/** Agents are read up to this many characters; the engine keeps 512. */
const AGENT_READ_MAX = 512;

/** A non-browser client's own name: the first product token (RFC 9110 §10.1.5), "curl" of "curl/8.0". */
const PRODUCT = /^([A-Za-z][\w.+-]{0,39})(?:\/|\s|$)/;

function first(table: readonly (readonly [RegExp, string])[], agent: string): string | null {
  for (const [pattern, name] of table) if (pattern.test(agent)) return name;
  return null;
}

/**
 * A device name read from a `User-Agent` header: "Chrome on Linux", "Safari on iPhone",
 * "Edge on Windows"; "Browser on Android" for a browser the table does not know; a
 * program's own name ("curl", "okhttp") for what is no browser; "Unknown device" when the
 * agent is empty or says nothing readable.
 */
export function deviceNameFromUserAgent(userAgent: string | null | undefined): string {
  const agent = typeof userAgent === "string" ? userAgent.slice(0, AGENT_READ_MAX).trim() : "";
  if (agent === "") return UNKNOWN_DEVICE_NAME;
  const browser = first(BROWSERS, agent);
  const system = first(SYSTEMS, agent);
  if (browser !== null) return system === null ? browser : `${browser} on ${system}`;
  const product = PRODUCT.exec(agent)?.[1];
  if (product === undefined) return system === null ? UNKNOWN_DEVICE_NAME : `Browser on ${system}`;
  if (product === "Mozilla") return system === null ? "Browser" : `Browser on ${system}`;
  return system === null ? product : `${product} on ${system}`;
}

import {
  cleanDeviceName,
  DEVICE_NAME_MAX,
  deviceNameFromUserAgent,
  truncateGraphemes,
  UNKNOWN_DEVICE_NAME,
} from "@prolong/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { setup } from "./fixtures.js";

const login = { username: "maryo", password: "correct horse battery" };

/** Characters that may never survive cleaning (docs/protocol.md, device names). */
const HIDDEN = /[\p{Cc}\u2028\u2029\u061c\u200b\u200c\u200e\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]/u;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

describe("device names", () => {
  it("strips bidi overrides, isolates and marks, which would reorder what a list shows", () => {
    // "Maryo's phone" followed by a right-to-left override that would display "txt.exe" reversed.
    expect(cleanDeviceName("Maryo's phone\u202Eexe.txt")).toBe("Maryo's phoneexe.txt");
    expect(cleanDeviceName("\u2066a\u2067b\u2068c\u2069\u202Ad\u202Be\u202Cf\u202Dg")).toBe("abcdefg");
    expect(cleanDeviceName("a\u200Eb\u200Fc\u061Cd")).toBe("abcd");
  });

  it("strips control and zero-width characters, and trims what is left", () => {
    expect(cleanDeviceName("  Maryo's\u0000 phone\u0085 ")).toBe("Maryo's phone");
    expect(cleanDeviceName("\uFEFFla\u200Bp\u200Ct\u2060op\u200D\u2028\t")).toBe("laptop");
  });

  it("keeps the joiner inside an emoji sequence, which is one visible picture", () => {
    expect(cleanDeviceName("Maryo's 👩🏽‍💻 desk")).toBe("Maryo's 👩🏽‍💻 desk");
  });

  it("normalises to NFC, so one name has one spelling", () => {
    expect(cleanDeviceName("Cafe\u0301")).toBe("Caf\u00e9");
  });

  it("gives no name when nothing visible is left", () => {
    expect(cleanDeviceName("\u200B\u202E \u2066\t")).toBeNull();
    expect(cleanDeviceName("")).toBeNull();
    expect(cleanDeviceName(undefined)).toBeNull();
  });

  it("cuts at the limit on grapheme boundaries: no half surrogate pair, flag or emoji sequence", () => {
    const emoji = `${"a".repeat(DEVICE_NAME_MAX - 1)}😀`;
    expect(cleanDeviceName(emoji)).toBe("a".repeat(DEVICE_NAME_MAX - 1));
    const flag = `${"a".repeat(DEVICE_NAME_MAX - 3)}🇫🇷`;
    expect(cleanDeviceName(flag)).toBe("a".repeat(DEVICE_NAME_MAX - 3));
    const family = `${"a".repeat(DEVICE_NAME_MAX - 5)}👨‍👩‍👧`;
    expect(cleanDeviceName(family)).toBe("a".repeat(DEVICE_NAME_MAX - 5));
    const accent = `${"a".repeat(DEVICE_NAME_MAX - 1)}e\u0301\u0302`;
    expect(cleanDeviceName(accent)).toBe("a".repeat(DEVICE_NAME_MAX - 1));
    expect(cleanDeviceName("😀".repeat(DEVICE_NAME_MAX))).toBe("😀".repeat(DEVICE_NAME_MAX / 2));
  });

  it("cuts a single over-long grapheme between code points, never inside a surrogate pair", () => {
    const zalgo = `x${"\u{1D167}".repeat(DEVICE_NAME_MAX)}`;
    const cut = truncateGraphemes(zalgo, DEVICE_NAME_MAX);
    expect(cut.length).toBeLessThanOrEqual(DEVICE_NAME_MAX);
    expect(cut.startsWith("x\u{1D167}")).toBe(true);
    expect(cut).not.toMatch(LONE_SURROGATE);
  });

  it("whatever the input, keeps no hidden character, no lone surrogate, and at most the limit", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 300 }), (input) => {
        const name = cleanDeviceName(input);
        if (name === null) return;
        expect(name.length).toBeGreaterThan(0);
        expect(name.length).toBeLessThanOrEqual(DEVICE_NAME_MAX);
        expect(name).not.toMatch(HIDDEN);
        expect(name).toBe(name.trim());
        expect(name).toBe(name.normalize("NFC"));
      }),
    );
  });

  it("never leaves half a surrogate pair when the input had none", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", minLength: 40, maxLength: 120 }), (input) => {
        const name = cleanDeviceName(input);
        if (name !== null) expect(name).not.toMatch(LONE_SURROGATE);
      }),
    );
  });

  it("are cleaned by the engine on sign-in and on rename", async () => {
    const { engine, user } = await setup();
    const signedIn = await engine.signIn({ ...login, deviceName: "\u202Ephone\u200B" });
    expect((await engine.listSessions(user.id))[0]?.deviceName).toBe("phone");
    const invisible = await engine.signIn({ ...login, deviceName: "\u200B\u2066" });
    const sessions = await engine.listSessions(user.id);
    expect(sessions.find((s) => s.id === invisible.sessionId)?.deviceName).toBeNull();
    await expect(engine.renameSession(user.id, signedIn.sessionId, "\u200B \u202E")).rejects.toMatchObject({
      code: "invalid_request",
    });
    const renamed = await engine.renameSession(user.id, signedIn.sessionId, `${"b".repeat(99)}🇫🇷`);
    expect(renamed.deviceName).toBe("b".repeat(99));
  });
});

// Agents as the browsers and programs named send them (their own documentation and
// release notes), Chrome's with the reduced minor versions it sends since 2023.
const AGENTS: [agent: string, name: string][] = [
  [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Chrome on Linux",
  ],
  [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Chrome on Windows",
  ],
  [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Chrome on macOS",
  ],
  [
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
    "Chrome on Android",
  ],
  [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
    "Chrome on iPhone",
  ],
  [
    "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Chrome on ChromeOS",
  ],
  [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
    "Chrome on Linux",
  ],
  [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    "Edge on Windows",
  ],
  [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    "Edge on macOS",
  ],
  [
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 EdgA/131.0.0.0",
    "Edge on Android",
  ],
  [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 EdgiOS/131.2903.68 Mobile/15E148 Safari/605.1.15",
    "Edge on iPhone",
  ],
  [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Safari on macOS",
  ],
  [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Safari on iPhone",
  ],
  [
    "Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Safari on iPad",
  ],
  ["Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox on Linux"],
  ["Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox on Linux"],
  ["Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox on Windows"],
  [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Firefox on macOS",
  ],
  ["Mozilla/5.0 (Android 15; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0", "Firefox on Android"],
  [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/133.0 Mobile/15E148 Safari/605.1.15",
    "Firefox on iPhone",
  ],
  [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 OPR/115.0.0.0",
    "Opera on Windows",
  ],
  [
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36 OPR/86.0.0.0",
    "Opera on Android",
  ],
  [
    "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
    "Samsung Internet on Android",
  ],
  [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Vivaldi/7.0.3495.18",
    "Vivaldi on Windows",
  ],
  [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 YaBrowser/24.10.0.0 Safari/537.36",
    "Yandex Browser on Windows",
  ],
  [
    "Mozilla/5.0 (Linux; Android 10; K; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/131.0.6778.81 Mobile Safari/537.36",
    "WebView on Android",
  ],
  [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Slack/4.41.97 Chrome/130.0.6723.118 Electron/33.2.0 Safari/537.36",
    "Electron on macOS",
  ],
  ["Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko", "Internet Explorer on Windows"],
  // An app's own web view on iOS names no browser.
  [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Browser on iPhone",
  ],
  // What the demo page used to list, cut at 40 characters.
  ["Mozilla/5.0 (X11; Linux x86_64) AppleWeb", "Browser on Linux"],
  ["Mozilla/5.0", "Browser"],
  ["curl/8.5.0", "curl"],
  ["okhttp/4.12.0", "okhttp"],
  ["python-requests/2.32.3", "python-requests"],
  ["Dart/3.5 (dart:io)", "Dart"],
  ["node", "node"],
  ["", UNKNOWN_DEVICE_NAME],
  ["   ", UNKNOWN_DEVICE_NAME],
  ["(compatible)", UNKNOWN_DEVICE_NAME],
  ["\u202E\u200B", UNKNOWN_DEVICE_NAME],
];

describe("device names read from the user agent", () => {
  it.each(AGENTS)("%s → %s", (agent, name) => {
    expect(deviceNameFromUserAgent(agent)).toBe(name);
  });

  it("names a missing agent neutrally", () => {
    expect(deviceNameFromUserAgent(null)).toBe(UNKNOWN_DEVICE_NAME);
    expect(deviceNameFromUserAgent(undefined)).toBe(UNKNOWN_DEVICE_NAME);
  });

  it("whatever the agent, gives a short name with nothing hidden in it", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 600 }), (agent) => {
        const name = deviceNameFromUserAgent(agent);
        expect(name.length).toBeGreaterThan(0);
        expect(name.length).toBeLessThanOrEqual(60);
        expect(cleanDeviceName(name)).toBe(name);
      }),
    );
  });

  it("names the sessions nobody named, and keeps the raw agent beside the name", async () => {
    const { engine, user } = await setup();
    const agent = AGENTS[0]?.[0] as string;
    const unnamed = await engine.signIn({ ...login, userAgent: agent });
    const named = await engine.signIn({ ...login, userAgent: agent, deviceName: "Work laptop" });
    const invisible = await engine.signIn({ ...login, userAgent: agent, deviceName: "\u200B" });
    const noAgent = await engine.signIn({ ...login });
    const sessions = new Map((await engine.listSessions(user.id)).map((s) => [s.id, s]));
    expect(sessions.get(unnamed.sessionId)).toMatchObject({
      deviceName: "Chrome on Linux",
      userAgent: agent,
    });
    expect(sessions.get(named.sessionId)).toMatchObject({ deviceName: "Work laptop", userAgent: agent });
    expect(sessions.get(invisible.sessionId)?.deviceName).toBe("Chrome on Linux");
    expect(sessions.get(noAgent.sessionId)).toMatchObject({ deviceName: null, userAgent: null });
  });
});

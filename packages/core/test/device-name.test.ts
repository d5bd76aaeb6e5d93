import { cleanDeviceName, DEVICE_NAME_MAX, truncateGraphemes } from "@prolong/core";
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

import { describe, expect, it } from "vitest";
import { ServerMac } from "../src/server-mac.js";

const SECRET = new Uint8Array(32).fill(7);
const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

describe("ServerMac", () => {
  it("refuses a key shorter than 256 bits, naming what it is for", () => {
    expect(() => new ServerMac(new Uint8Array(31), "device-token")).toThrow(
      "device-token key must be at least 256 bits",
    );
  });

  it("tags with 128 bits in base64url, the same under the same key, others under another", () => {
    const tag = new ServerMac(SECRET, "test").tag("label\0value");
    expect(tag).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(new ServerMac(SECRET, "test").tag("label\0value")).toBe(tag);
    expect(new ServerMac(new Uint8Array(32).fill(8), "test").tag("label\0value")).not.toBe(tag);
  });

  it("matches its own tag only, as text: a copy whose unused low bits differ is refused", () => {
    const mac = new ServerMac(SECRET, "test");
    const tag = mac.tag("label\0value");
    expect(mac.matches("label\0value", tag)).toBe(true);
    expect(mac.matches("label\0other", tag)).toBe(false);
    // 22 base64url characters carry 132 bits: the last one's low 4 bits decode to nothing,
    // so this copy decodes to the very same 16 bytes.
    const last = BASE64URL.indexOf(tag.at(-1) as string);
    const copy = `${tag.slice(0, -1)}${BASE64URL[last ^ 1]}`;
    expect(Buffer.from(copy, "base64url")).toEqual(Buffer.from(tag, "base64url"));
    expect(mac.matches("label\0value", copy)).toBe(false);
    expect(mac.matches("label\0value", tag.slice(0, -1))).toBe(false);
  });
});

import { cryptoRandom, randomId } from "@prolong/core";
import { describe, expect, it } from "vitest";

describe("randomId", () => {
  it("gives 128-bit base64url ids that never repeat, across many draws from the CSPRNG", () => {
    // 256 ids per draw: 3000 ids span a dozen draws and the ends of each block.
    const ids = Array.from({ length: 3000 }, () => randomId());
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) {
      expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(Buffer.from(id, "base64url")).toHaveLength(16);
    }
    // The same default spelled out takes the same path.
    expect(randomId(cryptoRandom)).not.toBe(randomId(cryptoRandom));
  });

  it("takes its bytes from an injected source as they come", () => {
    const counting = { bytes: (n: number) => Uint8Array.from({ length: n }, (_, i) => i) };
    expect(randomId(counting)).toBe(Buffer.from(counting.bytes(16)).toString("base64url"));
    expect(randomId(counting)).toBe(randomId(counting));
  });
});

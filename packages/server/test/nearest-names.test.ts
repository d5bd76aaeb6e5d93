import { describe, expect, it } from "vitest";
import { alternatives, editDistance, nearestNames } from "../src/nearest-names.js";

describe("edit distance", () => {
  it.each([
    ["port", "port", 0],
    ["prot", "port", 1],
    ["idleTimout", "idleTimeout", 1],
    ["accesTokenTtl", "accessTokenTtl", 1],
    ["hots", "host", 1],
    ["issur", "issuer", 1],
    ["", "alg", 3],
    ["ab", "ba", 1],
    ["ca", "abc", 3],
  ])("from %j to %j is %i", (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
    expect(editDistance(b, a)).toBe(distance);
  });
});

describe("nearest names", () => {
  const settings = ["port", "host", "issuer", "alg", "allowedOrigins", "trustProxy", "demo"];

  it("finds a name one or two edits away, case ignored", () => {
    expect(nearestNames("prot", settings)).toEqual(["port"]);
    expect(nearestNames("Issuer", settings)).toEqual(["issuer"]);
    expect(nearestNames("trustProxi", settings)).toEqual(["trustProxy"]);
    expect(nearestNames("dmeo", settings)).toEqual(["demo"]);
  });

  it("orders by distance, then as the candidates are listed", () => {
    expect(nearestNames("abcdef", ["abcdxy", "abcdeg", "abcdeh"])).toEqual(["abcdeg", "abcdeh", "abcdxy"]);
  });

  it("gives at most three", () => {
    expect(nearestNames("aaa", ["aab", "aac", "aad", "aae"])).toEqual(["aab", "aac", "aad"]);
  });

  it("finds a longer name that contains the one written", () => {
    expect(nearestNames("origins", settings)).toEqual(["allowedOrigins"]);
    expect(nearestNames("proxy", settings)).toEqual(["trustProxy"]);
  });

  it("takes nothing that changes most of a short name", () => {
    expect(nearestNames("ab", settings)).toEqual([]);
    expect(nearestNames("xyz", settings)).toEqual([]);
    expect(nearestNames("a".repeat(10_000), settings)).toEqual([]);
  });

  it("says the alternatives as a sentence does", () => {
    expect(alternatives(["a"])).toBe("a");
    expect(alternatives(["a", "b"])).toBe("a or b");
    expect(alternatives(["a", "b", "c"])).toBe("a, b or c");
  });
});

import { createVerifier } from "@prolong/verify";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AUDIENCE, ISSUER, makeKeys, NOW, token } from "./fixtures.js";

const keys = makeKeys();
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ";

type Mutation =
  | { kind: "replace"; at: number; char: string }
  | { kind: "insert"; at: number; char: string }
  | { kind: "delete"; at: number }
  | { kind: "swap"; at: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("replace" as const), at: fc.nat(), char: fc.constantFrom(...ALPHABET) }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), char: fc.constantFrom(...ALPHABET) }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("swap" as const), at: fc.nat() }),
);

function apply(text: string, m: Mutation): string {
  const at = m.at % text.length;
  switch (m.kind) {
    case "replace":
      return text.slice(0, at) + m.char + text.slice(at + 1);
    case "insert":
      return text.slice(0, at) + m.char + text.slice(at);
    case "delete":
      return text.slice(0, at) + text.slice(at + 1);
    case "swap":
      return text.slice(0, at) + (text[at + 1] ?? "") + (text[at] ?? "") + text.slice(at + 2);
  }
}

describe("random mutations of a valid token", () => {
  it.each(["EdDSA", "ES256", "RS256"] as const)("are never accepted (%s)", async (alg) => {
    const verifier = await createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: [keys[alg].jwk],
      now: () => NOW * 1000,
    });
    const original = token(keys[alg]);
    expect((await verifier.verify(original)).ok).toBe(true);
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 4 }), async (mutations) => {
        const mutated = mutations.reduce(apply, original);
        fc.pre(mutated !== original);
        const result = await verifier.verify(mutated);
        expect(result.ok).toBe(false);
      }),
      { numRuns: 400 },
    );
  });
});

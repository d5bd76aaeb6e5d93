import { checkSignature, importVerificationKey, parseCompactJws } from "@prolong/verify";
import { describe, expect, it } from "vitest";
import { backend } from "#crypto";
import { makeKeys, token } from "./fixtures.js";

/**
 * vitest.config.ts runs this package's suite twice: as Node loads it (`node:crypto`) and
 * with the Web Crypto backend edge runtimes load (project `verify-web`).
 */
const expected = process.env.PROLONG_VERIFY_BACKEND ?? "node";

describe(`the ${expected} crypto backend`, () => {
  it("is the one this run loads", () => {
    expect(backend.name).toBe(expected);
  });

  it(
    expected === "node"
      ? "checks a signature without a promise"
      : "checks a signature asynchronously, refusing a bad one",
    async () => {
      const { EdDSA } = makeKeys();
      const key = await importVerificationKey(EdDSA.jwk, ["EdDSA"]);
      const signed = token(EdDSA);
      const parsed = parseCompactJws(signed, new Set(["EdDSA"]), 8192);
      const verdict = checkSignature(parsed, key);
      expect(verdict instanceof Promise).toBe(expected === "web");
      await verdict;
      const forged = parseCompactJws(`${signed.slice(0, -4)}AAAA`, new Set(["EdDSA"]), 8192);
      await expect(async () => checkSignature(forged, key)).rejects.toThrow(/does not verify/);
    },
  );
});

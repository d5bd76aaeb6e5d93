import { createPublicKey, verify as cryptoVerify } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { checkSignature, importVerificationKey, parseCompactJws } from "@prolong/verify";
import type { JWK } from "jose";
import { describe, expect, it } from "vitest";

// The vectors ship in the repository, with their licence (vectors/wycheproof/README.md).
const vectors = (name: string) =>
  JSON.parse(readFileSync(fileURLToPath(new URL(`vectors/wycheproof/${name}`, import.meta.url)), "utf8"));

const ALLOWED = ["EdDSA", "ES256", "RS256", "HS256"] as const;

/**
 * Vectors whose verdict prolong does not follow, each for a stated reason:
 * - 367 and 370 are, character for character, the valid vector 357 under the same key
 *   (the bad padding their names describe did not survive into the file), so no
 *   verifier can refuse them without refusing 357.
 * - 372 and 373 are marked valid although a "?" sits inside the base64url text; RFC 7515
 *   §2 allows no other characters, and prolong refuses them: stricter, never looser.
 */
const EXPECTED_DIFFERENTLY: Record<number, "accepted" | "refused"> = {
  367: "accepted",
  370: "accepted",
  372: "refused",
  373: "refused",
};

interface JwsCase {
  tcId: number;
  comment: string;
  jws: string | object;
  result: "valid" | "invalid" | "acceptable";
}

/**
 * The vectors are plain JWS (payload "foo", no typ), so they exercise the layer that
 * parses a compact JWS and checks its signature with a key, exactly as encoded; the
 * JWT rules (typ, claims) sit above it and are tested on their own.
 */
async function accepts(keyJwk: JWK | undefined, jws: string | object): Promise<boolean> {
  if (!keyJwk || typeof jws !== "string") return false;
  try {
    const key = await importVerificationKey(
      { kid: "wycheproof", ...keyJwk, ...(keyJwk.kid ? {} : {}) },
      ALLOWED,
    );
    const parsed = parseCompactJws(jws, new Set(ALLOWED), 8192);
    if (parsed.header.kid !== key.kid) return false;
    await checkSignature(parsed, key);
    return true;
  } catch {
    return false;
  }
}

describe("Wycheproof JWS vectors", () => {
  const file = vectors("json_web_signature_test.json");
  const groups = file.testGroups as { comment: string; public?: JWK; private?: JWK; tests: JwsCase[] }[];
  const cases = groups.flatMap((g) => g.tests.map((t) => ({ group: g, test: t })));

  it("has the vectors at hand", () => {
    expect(cases.length).toBe(file.numberOfTests);
  });

  it("accepts every valid signature of an allowed algorithm and refuses every invalid one", async () => {
    let acceptedValid = 0;
    for (const { group, test } of cases) {
      const jwk = group.public ?? group.private;
      const alg = jwk?.alg;
      const ours = alg !== undefined && (ALLOWED as readonly string[]).includes(alg);
      const got = await accepts(group.public ?? (jwk?.kty === "oct" ? jwk : undefined), test.jws);
      const where = `tcId ${test.tcId} (${group.comment}: ${test.comment})`;
      const exception = EXPECTED_DIFFERENTLY[test.tcId];
      if (exception) expect(got, where).toBe(exception === "accepted");
      else if (test.result === "invalid") expect(got, where).toBe(false);
      else if (test.result === "valid" && ours) {
        expect(got, where).toBe(true);
        acceptedValid++;
      } else if (test.result === "valid") {
        // Valid for an algorithm prolong never issues (PS256, RS384, ES512, …): refused.
        expect(got, where).toBe(false);
      }
    }
    // HS256, RS256 and ES256 all have valid vectors; make sure they were really exercised.
    expect(acceptedValid).toBe(18);
  });
});

describe("Wycheproof Ed25519 vectors", () => {
  it("verify exactly the valid signatures", () => {
    const file = vectors("ed25519_test.json");
    let count = 0;
    for (const group of file.testGroups as {
      publicKey: { pk: string };
      tests: { msg: string; sig: string; result: string; tcId: number }[];
    }[]) {
      const key = createPublicKey({
        key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(group.publicKey.pk, "hex").toString("base64url") },
        format: "jwk",
      });
      for (const test of group.tests) {
        const sig = Buffer.from(test.sig, "hex");
        let ok = false;
        try {
          ok = sig.length === 64 && cryptoVerify(null, Buffer.from(test.msg, "hex"), key, sig);
        } catch {
          ok = false;
        }
        expect(ok, `tcId ${test.tcId}`).toBe(test.result === "valid");
        count++;
      }
    }
    expect(count).toBeGreaterThan(100);
  });
});

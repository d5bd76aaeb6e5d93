/**
 * The verifier's cases, run the same way in every runtime (edge-runtimes.test.ts): valid
 * tokens of each algorithm, forged and broken ones, and the Wycheproof JWS vectors. Only
 * `@prolong/verify`'s public API is used here, so the file bundles for any runtime.
 */
import { checkSignature, createVerifier, importVerificationKey, parseCompactJws } from "@prolong/verify";
import type { JWK } from "jose";

const ALGS = ["EdDSA", "ES256", "RS256", "HS256"] as const;

export interface TokenCase {
  name: string;
  token: string;
}

export interface WycheproofCase {
  tcId: number;
  key: JWK | null;
  jws: string;
}

export interface CaseInput {
  /** The verifier's rules; `now` in seconds since the epoch. */
  rules: { issuer: string; audience: string; now: number };
  keys: JWK[];
  tokens: TokenCase[];
  wycheproof: WycheproofCase[];
}

export interface CaseOutput {
  /** Whether `checkSignature` answered with a promise: the Web Crypto backend does, `node:crypto` does not. */
  asynchronous: boolean;
  /** Per token case: `ok`, `ok renew` or the refusal's code. */
  verdicts: Record<string, string>;
  /** The tcIds of the Wycheproof vectors accepted. */
  accepted: number[];
}

export async function runCases(input: CaseInput): Promise<CaseOutput> {
  const verifier = await createVerifier({
    issuer: input.rules.issuer,
    audience: input.rules.audience,
    keys: input.keys,
    algorithms: ALGS,
    now: () => input.rules.now * 1000,
  });
  const verdicts: Record<string, string> = {};
  for (const { name, token } of input.tokens) {
    const result = await verifier.verify(token);
    verdicts[name] = result.ok ? (result.renewSoon ? "ok renew" : "ok") : result.code;
  }
  let asynchronous = false;
  const accepted: number[] = [];
  for (const vector of input.wycheproof) {
    if (!vector.key) continue;
    try {
      const key = await importVerificationKey({ kid: "wycheproof", ...vector.key }, ALGS);
      const parsed = parseCompactJws(vector.jws, new Set(ALGS), 8192);
      if (parsed.header.kid !== key.kid) continue;
      const checking = checkSignature(parsed, key);
      if (checking) asynchronous = true;
      await checking;
      accepted.push(vector.tcId);
    } catch {
      // Refused.
    }
  }
  return { asynchronous, verdicts, accepted };
}

/**
 * The verifier's cases, run the same way in every runtime (edge-runtimes.test.ts): valid
 * tokens of each algorithm, forged and broken ones, the Wycheproof JWS vectors, and
 * requests with DPoP-bound tokens through the Fetch-API guard. Only `@prolong/verify`'s
 * public API is used here, so the file bundles for any runtime.
 */
import { checkSignature, createVerifier, importVerificationKey, parseCompactJws } from "@prolong/verify";
import { fetchGuard } from "@prolong/verify/fetch";
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

/** A request to a route behind the Fetch-API guard, in order: a replayed proof follows its first use. */
export interface RequestCase {
  name: string;
  method: string;
  url: string;
  authorization: string;
  /** `DPoP` headers, each appended. */
  proofs: string[];
}

export interface CaseInput {
  /** The verifier's rules; `now` in seconds since the epoch. */
  rules: { issuer: string; audience: string; now: number };
  keys: JWK[];
  tokens: TokenCase[];
  wycheproof: WycheproofCase[];
  requests: RequestCase[];
}

export interface CaseOutput {
  /** Whether `checkSignature` answered with a promise: the Web Crypto backend does, `node:crypto` does not. */
  asynchronous: boolean;
  /** Per token case: `ok`, `ok renew` or the refusal's code; per request case `ok` or status and error. */
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
  const guard = fetchGuard(verifier);
  for (const { name, method, url, authorization, proofs } of input.requests) {
    const headers = new Headers({ authorization });
    for (const proof of proofs) headers.append("dpop", proof);
    const answer = await guard(new Request(url, { method, headers }));
    verdicts[name] = answer.ok
      ? "ok"
      : `${answer.response.status} ${((await answer.response.json()) as { error: string }).error}`;
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

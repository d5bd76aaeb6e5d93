import { randomBytes } from "node:crypto";
import { RefreshTokenCodec } from "@prolong/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BackendStore, backends } from "../backends.js";
import { runCli } from "../server-process.js";
import { createAccount, refresh, type SignedIn, signIn, startTarget, type Target } from "./target.js";

/**
 * Whether a refresh token's answer takes longer for some failures than for others, which
 * would tell a guesser something the answer's body does not: that a session exists, or
 * that a guess came close. What an outsider can send, with a session id taken from any
 * access token (`sid`):
 *
 * - a token naming a session that does not exist;
 * - a token naming a live session at its current generation, sealed under another
 *   server's secret (the tag does not match);
 * - a live session's own token with its secret changed (a known session, the wrong hash).
 *
 * The refresh token's tag is checked first, in constant time, before anything is read
 * from the store (docs/protocol.md, packages/core/src/refresh-token.ts), so all three
 * must take the same time. On SQLite a store read costs microseconds; PostgreSQL, a
 * network round trip away, makes any read of the session's row visible, so both run.
 *
 * The samples are interleaved (each round sends one of each, in a random order), so a
 * loaded machine slows every kind alike; they are compared with the Mann-Whitney
 * effect size (Vargha and Delaney's A: the chance that one kind's sample is slower
 * than the other's), which ignores outliers. 0.5 is indistinguishable; this test
 * accepts 0.35 to 0.65, and a pair outside that is measured again from scratch before
 * it counts as a distinction, so one burst of load cannot fail it.
 */

const PASSWORD = "correct horse battery staple";
const ROUNDS = 200;
const WARM_UP = 20;
const MAX_EFFECT = 0.15;

/** Vargha and Delaney's A: P(x > y) + P(x = y) / 2, from the Mann-Whitney U statistic. */
function effectSize(xs: readonly number[], ys: readonly number[]): number {
  const all = [...xs.map((v) => ({ v, x: true })), ...ys.map((v) => ({ v, x: false }))].sort(
    (a, b) => a.v - b.v,
  );
  let rankSum = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j + 1 < all.length && all[j + 1]?.v === all[i]?.v) j++;
    // Ties share the mean of their ranks (1-based).
    const rank = (i + j + 2) / 2;
    for (let k = i; k <= j; k++) if (all[k]?.x) rankSum += rank;
    i = j + 1;
  }
  const u = rankSum - (xs.length * (xs.length + 1)) / 2;
  return u / (xs.length * ys.length);
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe("effectSize", () => {
  it("is 0.5 for the same values, 1 when every x is larger, 0 when every x is smaller", () => {
    expect(effectSize([1, 2, 3], [1, 2, 3])).toBe(0.5);
    expect(effectSize([4, 5, 6], [1, 2, 3])).toBe(1);
    expect(effectSize([1, 2, 3], [4, 5, 6])).toBe(0);
    expect(effectSize([1, 3], [2, 2])).toBe(0.5);
  });
});

const kinds = ["unknown session", "wrong secret (tag mismatch)", "known session, wrong hash"] as const;
type Kind = (typeof kinds)[number];

for (const backend of backends.filter((b) => b.name === "sqlite" || b.name === "postgres")) {
  describe(`refresh-token failures take the same time (${backend.name})`, { tags: backend.needs }, () => {
    let store: BackendStore | null = null;
    let target: Target;
    let alice: SignedIn & { refresh_token: string };

    beforeAll(async () => {
      if (backend.name !== "sqlite") {
        store = await backend.store();
        if (backend.needsMigration) expect((await runCli(["migrate", "--store", store.spec])).code).toBe(0);
      }
      target = await startTarget({
        ...(store ? { store: store.spec } : {}),
        // Every failure answers invalid_grant here, never 429: the limits are not under test.
        rateLimits: {
          refresh: { max: 1_000_000, windowSeconds: 60 },
          refreshPerSession: { max: 1_000_000, windowSeconds: 60 },
        },
      });
      await createAccount(target, "alice", PASSWORD);
      alice = (await signIn(target, {
        username: "alice",
        password: PASSWORD,
        client_id: "native",
      })) as SignedIn & {
        refresh_token: string;
      };
    }, 120_000);
    afterAll(async () => {
      await target?.stop();
      await store?.close();
    });

    /** A fresh token of `kind`: no guess is sent twice. */
    function guess(kind: Kind): string {
      const elsewhere = RefreshTokenCodec.create(randomBytes(32));
      const random = { bytes: (n: number) => randomBytes(n) };
      switch (kind) {
        case "unknown session":
          return elsewhere.issue(randomBytes(16).toString("base64url"), random).value;
        case "wrong secret (tag mismatch)":
          return elsewhere.issue(alice.session_id, random).value;
        case "known session, wrong hash": {
          // Alice's own token (session id, generation 0, secret, tag) with other secret bytes.
          const bytes = Buffer.from(alice.refresh_token, "base64url");
          randomBytes(32).copy(bytes, 20);
          return bytes.toString("base64url");
        }
      }
    }

    /** Microseconds per request of each kind, interleaved; every answer checked. */
    async function sample(): Promise<Record<Kind, number[]>> {
      const times = Object.fromEntries(kinds.map((k) => [k, [] as number[]])) as Record<Kind, number[]>;
      const answers = new Set<string>();
      for (let round = 0; round < WARM_UP + ROUNDS; round++) {
        for (const kind of shuffled(kinds)) {
          const token = guess(kind);
          const started = process.hrtime.bigint();
          const response = await refresh(target, token);
          const body = await response.text();
          const elapsed = Number(process.hrtime.bigint() - started) / 1000;
          answers.add(`${response.status} ${body}`);
          if (round >= WARM_UP) times[kind].push(elapsed);
        }
      }
      // The same answer for every kind, so only time could tell them apart.
      expect([...answers]).toEqual([
        '400 {"error":"invalid_grant","error_description":"refresh token is invalid","prolong_error":"invalid_grant"}',
      ]);
      return times;
    }

    it("for an unknown session, a wrong secret and a known session with the wrong hash", {
      timeout: 60_000,
    }, async () => {
      const pairs = kinds.flatMap((a, i) => kinds.slice(i + 1).map((b) => [a, b] as const));
      let times = await sample();
      const report = (t: Record<Kind, number[]>) =>
        pairs.map(([a, b]) => ({
          pair: `${a} / ${b}`,
          effect: Number(effectSize(t[a], t[b]).toFixed(3)),
          medians: `${median(t[a]).toFixed(0)} µs / ${median(t[b]).toFixed(0)} µs`,
        }));
      let results = report(times);
      if (results.some((r) => Math.abs(r.effect - 0.5) > MAX_EFFECT)) {
        // A distinction must show twice, in samples taken apart, to count.
        times = await sample();
        const again = report(times);
        results = results.map((r, i) =>
          Math.abs(r.effect - 0.5) > MAX_EFFECT ? (again[i] as (typeof results)[number]) : r,
        );
      }
      const distinct = results.filter((r) => Math.abs(r.effect - 0.5) > MAX_EFFECT);
      expect(distinct, JSON.stringify(results, null, 2)).toEqual([]);
      // Hundreds of guesses at alice's session left it as it was: no reuse, no revocation.
      const renewed = await refresh(target, alice.refresh_token);
      expect(renewed.status).toBe(200);
    });
  });
}

/**
 * Names a misspelt one was probably meant to be, for "did you mean …?" in configuration
 * errors: a setting or environment variable that is not known is most often a typo.
 */

/** Past this length a name is not a typo of a setting; distances would only cost time. */
const LONGEST = 100;

/**
 * Up to `limit` of `candidates` close to `name`, closest first (ties in the candidates'
 * order). Close is an edit distance of at most 2, case ignored, that keeps at least half
 * of the longer name (so `ab` is not taken for `alg`); or, for names of 4 characters or
 * more, one containing the other (`origins` for `allowedOrigins`).
 */
export function nearestNames(name: string, candidates: readonly string[], limit = 3): string[] {
  if (name.length > LONGEST) return [];
  const typed = name.toLowerCase();
  const scored: { candidate: string; score: number }[] = [];
  for (const candidate of candidates) {
    const known = candidate.toLowerCase();
    const distance = editDistance(typed, known);
    if (distance <= 2 && distance < Math.max(typed.length, known.length) / 2) {
      scored.push({ candidate, score: distance });
    } else if (
      Math.min(typed.length, known.length) >= 4 &&
      (known.includes(typed) || typed.includes(known))
    ) {
      scored.push({ candidate, score: 3 });
    }
  }
  // Array.prototype.sort is stable: equal scores keep the candidates' order.
  return scored
    .sort((a, b) => a.score - b.score)
    .slice(0, limit)
    .map((s) => s.candidate);
}

/**
 * Optimal string alignment distance (Damerau-Levenshtein without moving a character
 * twice): insertions, deletions, substitutions and swaps of two neighbours cost 1 each,
 * so the common slips `idleTimout` and `prot` are one edit away from `idleTimeout` and
 * `port`.
 */
export function editDistance(a: string, b: string): number {
  // Three rows of the dynamic-programming table: two back, one back, current.
  let twoBack: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(
        (previous[j] as number) + 1,
        (current[j - 1] as number) + 1,
        (previous[j - 1] as number) + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, (twoBack[j - 2] as number) + 1);
      }
      current[j] = best;
    }
    twoBack = previous;
    previous = current;
  }
  return previous[b.length] as number;
}

/** `a`, `a or b`, `a, b or c`. */
export function alternatives(names: readonly string[]): string {
  if (names.length <= 1) return names.join("");
  return `${names.slice(0, -1).join(", ")} or ${names.at(-1)}`;
}

import { invalid } from "./errors.js";
import { type Algorithm, importJwks, type VerificationKey } from "./keys.js";

export interface JwksOptions {
  uri: string;
  algorithms: readonly Algorithm[];
  /**
   * A fetch on an unknown kid waits at least this long after the previous one (ms); also
   * the shortest time a fetched key set is used, whatever its `max-age` says.
   */
  cooldownMs?: number;
  /**
   * The longest time a fetched key set is used before it is fetched again, even when every
   * kid is known (ms); a shorter `Cache-Control: max-age` of the response is honoured.
   */
  maxAgeMs?: number;
  timeoutMs?: number;
  now?: () => number;
  fetch?: typeof fetch;
}

const MAX_DOCUMENT_BYTES = 64 * 1024;

/**
 * How long a JWKS response may be used, in ms, from its `Cache-Control` (RFC 9111 §5.2.2):
 * `max-age` less the response's `Age` (§4.2.3, time it spent in a cache on the way);
 * `no-store`, `no-cache` or a `max-age` that is not a whole number mean at once (§4.2.1:
 * an invalid one is treated as stale). `null` when the response says nothing.
 */
export function freshnessOf(headers: Headers): number | null {
  const directives = (headers.get("cache-control") ?? "")
    .split(",")
    .map((d) => d.trim().toLowerCase())
    .filter((d) => d !== "");
  if (directives.some((d) => d === "no-store" || d === "no-cache")) return 0;
  const maxAges = directives.filter((d) => d === "max-age" || d.startsWith("max-age="));
  if (maxAges.length === 0) return null;
  const value = /^max-age="?(\d+)"?$/.exec(maxAges[0] as string)?.[1];
  if (maxAges.length > 1 || value === undefined) return 0;
  const age = /^\d+$/.test(headers.get("age") ?? "") ? Number(headers.get("age")) : 0;
  return Math.max(0, Number(value) - age) * 1000;
}

/**
 * The issuer's keys, fetched once and cached for the response's `max-age` (prolong's
 * `jwksMaxAge`), kept between `cooldownMs` and `maxAgeMs`: a max-age of 0 cannot make
 * every request fetch, nor a huge one keep a key set for days. An unknown `kid`
 * triggers a refetch (a key rotation may have happened), but at most once per cooldown,
 * and concurrent requests share one fetch, so tokens with made-up kids cannot make us
 * hammer the issuer.
 */
export class JwksCache {
  readonly #options: Required<Omit<JwksOptions, "fetch">> & { fetch: typeof fetch };
  #keys = new Map<string, VerificationKey>();
  #fetchedAt = Number.NEGATIVE_INFINITY;
  /** How long the last key set fetched may be used (ms), its max-age within the bounds. */
  #freshFor: number;
  #inflight: Promise<void> | null = null;
  /** How many times the document was fetched; for tests and metrics. */
  fetches = 0;

  constructor(options: JwksOptions) {
    this.#options = {
      cooldownMs: 30_000,
      maxAgeMs: 600_000,
      timeoutMs: 5_000,
      now: Date.now,
      fetch: globalThis.fetch,
      ...options,
    };
    this.#freshFor = this.#options.maxAgeMs;
  }

  /** The key for `kid`, fetching when it is unknown and the cooldown allows. */
  async get(kid: string): Promise<VerificationKey | undefined> {
    const now = this.#options.now();
    const stale = now - this.#fetchedAt >= this.#freshFor;
    const key = this.#keys.get(kid);
    if (key && !stale) return key;
    // A fetch already under way (a cold cache, a rotated-in key met by a burst of
    // requests) may bring this kid: wait for it rather than answer "unknown kid" while
    // it runs. Its start counts for the cooldown, so this never adds a fetch.
    const due = this.#inflight !== null || stale || now - this.#fetchedAt >= this.#options.cooldownMs;
    if (due) {
      try {
        await this.refresh();
      } catch (error) {
        // An issuer that is briefly down must not take every request with it: a key we
        // already trust stays usable; only unknown kids fail.
        if (key) return key;
        throw error;
      }
    }
    return this.#keys.get(kid);
  }

  /** The key for `kid` if it is cached, without any I/O: the hot path. */
  peek(kid: string): VerificationKey | undefined {
    if (this.#options.now() - this.#fetchedAt >= this.#freshFor) return undefined;
    return this.#keys.get(kid);
  }

  refresh(): Promise<void> {
    this.#inflight ??= this.#load().finally(() => {
      this.#inflight = null;
    });
    return this.#inflight;
  }

  async #load(): Promise<void> {
    // Counted before the request, so a failing issuer still obeys the cooldown.
    this.#fetchedAt = this.#options.now();
    this.fetches += 1;
    const response = await this.#options.fetch(this.#options.uri, {
      headers: { accept: "application/json" },
      redirect: "error",
      signal: AbortSignal.timeout(this.#options.timeoutMs),
    });
    if (!response.ok) throw invalid(`JWKS answered ${response.status}`);
    const text = await response.text();
    if (text.length > MAX_DOCUMENT_BYTES) throw invalid("JWKS document is too large");
    this.#keys = await importJwks(JSON.parse(text), this.#options.algorithms);
    const { cooldownMs, maxAgeMs } = this.#options;
    const freshness = freshnessOf(response.headers) ?? maxAgeMs;
    this.#freshFor = Math.min(Math.max(freshness, cooldownMs), maxAgeMs);
  }
}

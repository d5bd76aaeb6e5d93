import { invalid } from "./errors.js";
import { type Algorithm, importJwks, type VerificationKey } from "./keys.js";

export interface JwksOptions {
  uri: string;
  algorithms: readonly Algorithm[];
  /** A fetch on an unknown kid waits at least this long after the previous one (ms). */
  cooldownMs?: number;
  /** Keys are refetched after this long even when every kid is known (ms). */
  maxAgeMs?: number;
  timeoutMs?: number;
  now?: () => number;
  fetch?: typeof fetch;
}

const MAX_DOCUMENT_BYTES = 64 * 1024;

/**
 * The issuer's keys, fetched once and cached. An unknown `kid` triggers a refetch (a key
 * rotation may have happened), but at most once per cooldown, and concurrent requests
 * share one fetch, so tokens with made-up kids cannot make us hammer the issuer.
 */
export class JwksCache {
  readonly #options: Required<Omit<JwksOptions, "fetch">> & { fetch: typeof fetch };
  #keys = new Map<string, VerificationKey>();
  #fetchedAt = Number.NEGATIVE_INFINITY;
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
  }

  /** The key for `kid`, fetching when it is unknown and the cooldown allows. */
  async get(kid: string): Promise<VerificationKey | undefined> {
    const now = this.#options.now();
    const stale = now - this.#fetchedAt >= this.#options.maxAgeMs;
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
    if (this.#options.now() - this.#fetchedAt >= this.#options.maxAgeMs) return undefined;
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
  }
}

import type { ReplayStore } from "@prolong/core";

/**
 * Single-use claims in this process's memory: right for one server process. Claims
 * that expired are swept about once a second, so the map holds only those still
 * running; they are short (a DPoP proof's lifetime, a DBSC challenge's), and one is
 * never dropped before it expires, which would let its key be used twice.
 */
export class MemoryReplayStore implements ReplayStore {
  /** Claimed key → when its claim expires. */
  readonly #claims = new Map<string, number>();
  #nextSweep = 0;

  /** How many claims are held now (for tests of the sweep). */
  get size(): number {
    return this.#claims.size;
  }

  async claim(key: string, expiresAt: number, now: number): Promise<boolean> {
    if (now >= this.#nextSweep) {
      this.#nextSweep = now + 1000;
      this.#drop(now);
    }
    const held = this.#claims.get(key);
    if (held !== undefined && now < held) return false;
    this.#claims.set(key, expiresAt);
    return true;
  }

  async purge(now: number): Promise<number> {
    return this.#drop(now);
  }

  #drop(now: number): number {
    let dropped = 0;
    for (const [key, expiresAt] of this.#claims) {
      if (expiresAt <= now) {
        this.#claims.delete(key);
        dropped += 1;
      }
    }
    return dropped;
  }
}

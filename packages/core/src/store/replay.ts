/**
 * Single-use claims (store/index.ts states the rules all operations follow): a DPoP
 * proof's `jti` (RFC 9449 §11.1) or a DBSC challenge must be accepted once, by whichever
 * server instance sees it first, so the claim lives in the store every instance shares.
 */
export interface ReplayStore {
  /**
   * Claims `key` until `expiresAt`: `true` when it was never claimed or its earlier claim
   * has expired (`now >= expiresAt` of that claim), `false` for any later claim before
   * then. Atomic across processes: of racing claims of one key, exactly one gets `true`.
   */
  claim(key: string, expiresAt: number, now: number): Promise<boolean>;
  /** Forgets claims that expired at or before `now`; returns how many (0 where they expire by themselves). */
  purge(now: number): Promise<number>;
}

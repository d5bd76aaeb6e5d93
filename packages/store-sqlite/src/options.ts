// Apart from the driver, so the published types never name its types: a consumer need
// not install @types/better-sqlite3 to type-check against this package.
export interface SqliteStoreOptions {
  /** Database file; created with its directory on first use. `:memory:` for a private in-memory database. */
  path: string;
  /**
   * How long a write waits for another connection's lock, in ms, before the operation
   * fails with `store_unavailable`. Default 5000.
   */
  busyTimeout?: number;
}

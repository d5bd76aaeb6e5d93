// Apart from the driver, so the published types never name its types: a consumer need
// not install @types/better-sqlite3 to type-check against this package.
export interface SqliteStoreOptions {
  /** Database file; created with its directory on first use. `:memory:` for a private in-memory database. */
  path: string;
  /**
   * How long, in total, an operation waits for another connection's lock, in ms, before
   * it fails with `store_unavailable`. Default 5000. The wait is on timers, so the event
   * loop keeps serving meanwhile; only opening the store (and migrating it) waits in the driver.
   */
  busyTimeout?: number;
}

import { fork } from "node:child_process";

const HOLDER = new URL("./sqlite-lock-holder.mjs", import.meta.url).pathname;

/** Another process's write lock on a SQLite file (sqlite-lock-holder.mjs). */
export interface HeldWriteLock {
  /** When the other process had the lock, in `Date.now()` time. */
  lockedAt: number;
  /** Settles once the other process has committed and let go, with when it did. */
  released: Promise<number>;
  /** Asks the other process to let go now; resolves once it has. */
  release: () => Promise<number>;
}

/**
 * Starts a second process that holds the write lock of the SQLite file at `path`
 * (`BEGIN IMMEDIATE`) until `release()` or, given `forMs`, for that long; resolves once
 * it holds the lock. `sql` runs inside its transaction and commits when it lets go.
 */
export function holdSqliteWriteLock(
  path: string,
  options: { forMs?: number; sql?: string } = {},
): Promise<HeldWriteLock> {
  const args = [path, options.forMs === undefined ? "" : String(options.forMs), options.sql ?? ""];
  // No inherited flags: the test runner's own loaders are not for this script.
  const child = fork(HOLDER, args, { execArgv: [], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  type Message = { type: "locked" | "released"; at: number };
  const released = new Promise<number>((resolve, reject) => {
    child.on("message", (message: Message) => {
      if (message.type === "released") resolve(message.at);
    });
    // "close", not "exit": it comes after every message the process sent.
    child.once("close", (code) => reject(new Error(`the lock holder exited with ${code} before letting go`)));
  });
  // Handled here, so a test that never waits for it has no unhandled rejection.
  released.catch(() => {});
  return new Promise<HeldWriteLock>((resolve, reject) => {
    child.on("message", (message: Message) => {
      if (message.type !== "locked") return;
      resolve({
        lockedAt: message.at,
        released,
        release: () => {
          if (child.connected) child.send("release");
          return released;
        },
      });
    });
    child.once("close", (code) => reject(new Error(`the lock holder exited with ${code} before locking`)));
    child.once("error", reject);
  });
}

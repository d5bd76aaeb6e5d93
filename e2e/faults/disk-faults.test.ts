import { execFile } from "node:child_process";
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { promisify } from "node:util";
import Database from "better-sqlite3";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { backends } from "../backends.js";
import type { RunningServer } from "../server-process.js";
import {
  type Deployment,
  deploy,
  eventCount,
  GENEROUS_LIMITS,
  isActive,
  refresh,
  sessionsOf,
  startSessions,
} from "./deployment.js";
import { recordFigures } from "./figures.js";

// The store's disk fills up or turns read-only under a running server. Every write then
// fails; the server must say so as a failure of its own (503 `temporarily_unavailable`
// with Retry-After, docs/protocol.md "Errors"), keep every session, corrupt nothing, and
// serve again as soon as the disk does. The faults are the kernel's or the database's:
//
// - SQLite, file size limit: RLIMIT_FSIZE lowered on the running server (`prlimit --pid`,
//   no root needed), so a write that would grow a file fails with EFBIG;
// - SQLite, a full disk and then a read-only one: its directory is a small ext4 filesystem
//   of its own (a loop device), filled (ENOSPC) and emptied, then turned read-only by the
//   kernel after a disk error (EROFS), as errors=remount-ro does; mounting needs root, as
//   CI runs. (`mount -o remount,ro` is refused, EBUSY, while the server has files open
//   for writing: only the kernel makes a disk read-only under a running SQLite server.)
// - PostgreSQL, a read-only database (a standby after a failover, or an operator's
//   `default_transaction_read_only`), its open connections terminated.

const run = promisify(execFile);
const CLIENTS = 20;
const SUBJECT = "disk-fault-user";

interface Fault {
  inject(): Promise<void>;
  clear(): Promise<void>;
}

interface Held {
  token: string;
}

interface FaultFigures {
  answersDuringFault: Record<string, number>;
  healthDuringFault: number;
  sessionsListedDuringFault: number;
  integrity: string[];
  sessionsChecked: number;
  sessionsLost: number;
}

/**
 * Starts `CLIENTS` sessions, injects the fault, has every client try a refresh, clears
 * it, and has every client refresh again with the token it holds. `integrity` reads the
 * database itself (SQLite's `PRAGMA integrity_check`).
 */
async function throughFault(
  serving: () => RunningServer,
  fault: Fault,
  integrity: () => string = () => "not checked",
): Promise<FaultFigures> {
  const server = {
    get url() {
      return serving().url;
    },
  };
  const held: Held[] = (await startSessions(server.url, SUBJECT, CLIENTS)).map((s) => ({
    token: s.refresh_token,
  }));
  const before = (await sessionsOf(server.url, SUBJECT)).length;
  const answers: Record<string, number> = {};
  const integrities: string[] = [];
  let health: number;
  let listed: number;
  await fault.inject();
  try {
    for (const h of held) {
      const response = await refresh(server.url, h.token);
      answers[response.status] = (answers[response.status] ?? 0) + 1;
      const body = (await response.json()) as { refresh_token?: string; error?: string };
      if (response.status === 200) {
        // A write that still found room in space the file already had.
        h.token = body.refresh_token as string;
        continue;
      }
      expect(response.status, JSON.stringify(body)).toBe(503);
      expect(response.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(body.error).toBe("temporarily_unavailable");
    }
    // The fault is real: the server could not write, and says so.
    expect(answers[503] ?? 0).toBeGreaterThan(0);
    health = (await fetch(`${server.url}/healthz`)).status;
    expect(health).toBe(503);
    // Reads still work: every session is listed, live.
    const during = await sessionsOf(server.url, SUBJECT);
    listed = during.filter((s) => s.state === "live").length;
    expect(listed).toBe(before);
    integrities.push(integrity());
  } finally {
    await fault.clear();
  }
  await expect
    .poll(async () => (await fetch(`${server.url}/healthz`)).status, { timeout: 20_000, interval: 200 })
    .toBe(200);
  // Every client goes on with the token it holds.
  for (const h of held) {
    const response = await refresh(server.url, h.token);
    expect(response.status, await response.clone().text()).toBe(200);
    h.token = ((await response.json()) as { refresh_token: string }).refresh_token;
    expect(await isActive(server.url, h.token)).toBe(true);
  }
  const after = await sessionsOf(server.url, SUBJECT);
  expect(after.map((s) => s.state)).toEqual(Array(before).fill("live"));
  expect(await eventCount(server.url, "reuse_detected")).toBe(0);
  integrities.push(integrity());
  for (const result of integrities) expect(["ok", "not checked"]).toContain(result);
  return {
    answersDuringFault: answers,
    healthDuringFault: health,
    sessionsListedDuringFault: listed,
    integrity: integrities,
    sessionsChecked: after.length,
    sessionsLost: before - after.filter((s) => s.state === "live").length,
  };
}

/** `PRAGMA integrity_check` on the file, read-only, beside the running server (WAL lets both read). */
function integrityOf(path: string): () => string {
  return () => {
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      return db.pragma("integrity_check", { simple: true }) as string;
    } finally {
      db.close();
    }
  };
}

/** Writes zeros to `path` until the filesystem has no room left; returns how many bytes went in. */
function fillUp(path: string): number {
  const fd = openSync(path, "w");
  let written = 0;
  try {
    for (const size of [1 << 20, 1 << 12, 1 << 9]) {
      const chunk = Buffer.alloc(size);
      // Bounded: a tmpfs of a few MiB takes a few thousand chunks at most.
      for (let i = 0; i < 100_000; i++) {
        try {
          written += writeSync(fd, chunk);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}

let deployment: Deployment | undefined;
let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await deployment?.close();
  deployment = undefined;
  await cleanup?.();
  cleanup = undefined;
});

const sqlite = backends.find((b) => b.name === "sqlite");
const postgres = backends.find((b) => b.name === "postgres");

describe("a SQLite store whose disk fails under the running server", () => {
  it("file size limit (EFBIG): 503 with Retry-After, nothing lost or corrupted, serves again", async () => {
    if (!sqlite) throw new Error("e2e/backends.ts has no sqlite backend");
    const store = await sqlite.store();
    const path = store.spec.slice("sqlite:".length);
    deployment = await deploy(store, { rateLimits: GENEROUS_LIMITS });
    const server = await deployment.start();
    const pid = String(server.child.pid);
    const figures = await throughFault(
      () => server,
      {
        // No file of the store may grow past the size of the largest one now.
        inject: async () => {
          const largest = Math.max(statSync(path).size, statSync(`${path}-wal`).size);
          await run("prlimit", ["--pid", pid, `--fsize=${largest}:unlimited`]);
        },
        clear: async () => {
          await run("prlimit", ["--pid", pid, "--fsize=unlimited:unlimited"]);
        },
      },
      integrityOf(path),
    );
    recordFigures("disk-sqlite-file-size-limit", {
      store: "sqlite",
      fault: "RLIMIT_FSIZE (EFBIG)",
      ...figures,
    });
  }, 60_000);

  // Mounting a loop device needs root: the "root" tag skips it elsewhere, and counts it.
  it("a full disk (ENOSPC), then one the kernel turns read-only (EROFS): 503 each time, nothing lost or corrupted", {
    timeout: 90_000,
    tags: ["root"],
  }, async () => {
    if (!sqlite) throw new Error("e2e/backends.ts has no sqlite backend");
    // A small ext4 filesystem of its own, as a server's data disk.
    const dir = mkdtempSync(join(tmpdir(), "prolong-disk-"));
    const image = join(dir, "disk.img");
    const mountPoint = join(dir, "data");
    mkdirSync(mountPoint);
    await run("truncate", ["-s", "16M", image]);
    // No blocks reserved for root: the server runs as root here and would use them.
    await run("mkfs.ext4", ["-q", "-F", "-m", "0", image]);
    const mount = () => run("mount", ["-o", "loop,errors=remount-ro", image, mountPoint]);
    let mounted = false;
    await mount();
    mounted = true;
    cleanup = async () => {
      if (mounted) await run("umount", [mountPoint]).catch(() => run("umount", ["-l", mountPoint]));
      rmSync(dir, { recursive: true, force: true });
    };
    const path = join(mountPoint, "prolong.db");
    deployment = await deploy(
      { spec: `sqlite:${path}`, close: async () => {} },
      { rateLimits: GENEROUS_LIMITS },
    );
    let server = await deployment.start();

    const filler = join(mountPoint, "filler");
    let filled = 0;
    const full = await throughFault(
      () => server,
      {
        inject: async () => {
          filled = fillUp(filler);
        },
        // Space comes back: the server writes again by itself.
        clear: async () => rmSync(filler),
      },
      integrityOf(path),
    );

    // A disk error: ext4 (errors=remount-ro) turns the filesystem read-only under the
    // server's open files, as it does on a failing disk. What was committed is on the disk
    // first (`sync`), as it is unless the machine loses power: SQLite's synchronous=NORMAL
    // is durable across crashes of the process, not of the machine.
    const device = (await run("findmnt", ["-no", "SOURCE", mountPoint])).stdout.trim();
    const readOnly = await throughFault(
      () => server,
      {
        inject: async () => {
          await run("sync");
          writeFileSync(`/sys/fs/ext4/${basename(device)}/trigger_fs_error`, "fault injected by a test");
        },
        // An aborted journal is not remounted read-write: the operator stops the server,
        // checks the filesystem, mounts it again and starts the server.
        clear: async () => {
          await server.stop();
          await run("umount", [mountPoint]);
          mounted = false;
          // e2fsck exits 1 when it fixed something: that is the point of running it.
          await run("e2fsck", ["-fy", image]).catch((error: { code?: number }) => {
            if (error.code !== 1) throw error;
          });
          await mount();
          mounted = true;
          server = (await deployment?.start()) as RunningServer;
        },
      },
      integrityOf(path),
    );
    recordFigures("disk-sqlite-ext4", {
      store: "sqlite",
      full: { fault: "ext4 of 16 MiB filled (ENOSPC), then emptied", fillerBytes: filled, ...full },
      readOnly: {
        fault: "ext4 error, errors=remount-ro (EROFS); recovered by fsck and a restart",
        ...readOnly,
      },
    });
  });
});

describe("a PostgreSQL database turned read-only under the running server", { tags: ["postgres"] }, () => {
  it("503 with Retry-After while it is, nothing lost, serves again once writable", async () => {
    if (!postgres) throw new Error("e2e/backends.ts has no postgres backend");
    const store = await postgres.store();
    deployment = await deploy(store, { rateLimits: GENEROUS_LIMITS });
    const server = await deployment.start();
    const url = new URL(store.spec);
    url.searchParams.delete("schema");
    const database = url.pathname.slice(1);
    /** As an operator would: change the database, then end the sessions that predate the change. */
    const operate = async (readOnly: boolean) => {
      const client = new pg.Client({ connectionString: url.href });
      await client.connect();
      try {
        // A read-only database lets a session write only once it says so.
        await client.query("SET default_transaction_read_only = off");
        await client.query(
          `ALTER DATABASE "${database}" SET default_transaction_read_only = ${readOnly ? "on" : "off"}`,
        );
        await client.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
          [database],
        );
      } finally {
        await client.end();
      }
    };
    const figures = await throughFault(() => server, {
      inject: () => operate(true),
      clear: () => operate(false),
    });
    recordFigures("disk-postgres-read-only", {
      store: "postgres",
      fault: "default_transaction_read_only = on, connections terminated (SQLSTATE 25006, 57P01)",
      ...figures,
    });
  }, 60_000);
});

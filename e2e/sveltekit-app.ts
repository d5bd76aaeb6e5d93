import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, openSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import Database from "better-sqlite3";
import { type NodeProcess, startNodeProcess } from "./server-process.js";

/** examples/sveltekit, built and run as its README says (`vite build`, `node build`). */
const EXAMPLE = fileURLToPath(new URL("../examples/sveltekit/", import.meta.url));

/** The example's own Vite, the one its SvelteKit plugin was installed for. */
const VITE = join(
  dirname(createRequire(join(EXAMPLE, "package.json")).resolve("vite/package.json")),
  "bin",
  "vite.js",
);

/** The example's SvelteKit command line, for `svelte-kit sync`. */
const SVELTE_KIT = join(
  dirname(createRequire(join(EXAMPLE, "package.json")).resolve("@sveltejs/kit/package.json")),
  "svelte-kit.js",
);

/**
 * The example's tsconfig.json extends the one `svelte-kit sync` generates in
 * `.svelte-kit/`, which a fresh clone lacks (it is build output), and Vite refuses to
 * build without it. The first test file to get here generates it, under a lock file so
 * that a second one, building at the same time in another worker, never reads it half
 * written.
 */
async function syncOnce(): Promise<void> {
  const generated = join(EXAMPLE, ".svelte-kit", "tsconfig.json");
  const lock = join(EXAMPLE, ".e2e-sync.lock");
  for (let attempt = 0; !existsSync(generated); attempt++) {
    let held: number | null = null;
    try {
      held = openSync(lock, "wx");
    } catch {
      if (attempt > 600) throw new Error(`${lock} held for over a minute; remove it if no test is running`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      continue;
    }
    try {
      if (!existsSync(generated))
        await promisify(execFile)(process.execPath, [SVELTE_KIT, "sync"], { cwd: EXAMPLE, timeout: 60_000 });
    } finally {
      closeSync(held);
      rmSync(lock, { force: true });
    }
  }
}

/** A production build of the example, in a directory of its own. */
export interface SvelteKitBuild {
  /** What `node` runs: adapter-node's output. */
  server: string;
  remove(): void;
}

/**
 * `vite build` into a fresh directory inside the example (its dependencies resolve from
 * there), so two test files building at once do not write over each other.
 */
export async function buildSvelteKit(): Promise<SvelteKitBuild> {
  await syncOnce();
  const name = `.e2e-${randomBytes(4).toString("hex")}`;
  const out = join(EXAMPLE, name);
  try {
    await promisify(execFile)(process.execPath, [VITE, "build", "--logLevel", "warn"], {
      cwd: EXAMPLE,
      env: { ...process.env, PROLONG_SVELTEKIT_OUT: name, NODE_ENV: "production" },
      timeout: 180_000,
    });
  } catch (error) {
    rmSync(out, { recursive: true, force: true });
    throw error;
  }
  return { server: join(out, "build"), remove: () => rmSync(out, { recursive: true, force: true }) };
}

export interface SvelteKitApp extends NodeProcess {
  /** Where it listens: `http://127.0.0.1:PORT`. */
  url: string;
  /** The SQLite file of its store, in its own temporary directory. */
  database: string;
  /** How many times this session's refresh token has rotated so far (read from the store). */
  generation(sessionId: string): number;
  /** When the session was revoked and why, `null` while it stands. */
  revoked(sessionId: string): { at: number; reason: string } | null;
  /** The security events of one type the store recorded for a subject. */
  events(type: string, subject: string): number;
}

export interface SvelteKitOptions {
  port: number;
  /** The origin browsers reach it at (a proxy's, say); default its own. */
  origin?: string;
  /** Access-token lifetime, seconds. */
  ttl: number;
  /** Seconds a replaced refresh token is still answered as a straggler. */
  graceWindow: number;
}

/** Runs a build on a loopback port with a fresh data directory; resolves once it listens. */
export async function startSvelteKit(
  build: SvelteKitBuild,
  options: SvelteKitOptions,
): Promise<SvelteKitApp> {
  const url = `http://127.0.0.1:${options.port}`;
  const app = await startNodeProcess(
    [build.server],
    {
      HOST: "127.0.0.1",
      PORT: String(options.port),
      ORIGIN: options.origin ?? url,
      PROLONG_STORE: "sqlite:./data/prolong.db",
      ACCESS_TOKEN_TTL: String(options.ttl),
      GRACE_WINDOW: String(options.graceWindow),
    },
    /Listening on http:\/\/\S+/,
  );
  const database = join(app.dir, "data", "prolong.db");
  // The store is created on the first request that reaches prolong; read-only, opened when asked.
  const read = <T>(query: (db: Database.Database) => T): T => {
    const db = new Database(database, { readonly: true, fileMustExist: true });
    try {
      return query(db);
    } finally {
      db.close();
    }
  };
  return {
    ...app,
    url,
    database,
    generation: (id) =>
      read(
        (db) =>
          (db.prepare("SELECT generation FROM sessions WHERE id = ?").get(id) as { generation: number })
            .generation,
      ),
    revoked: (id) =>
      read((db) => {
        const row = db.prepare("SELECT revoked_at, revoked_reason FROM sessions WHERE id = ?").get(id) as {
          revoked_at: number | null;
          revoked_reason: string | null;
        };
        return row.revoked_at === null ? null : { at: row.revoked_at, reason: String(row.revoked_reason) };
      }),
    events: (type, subject) =>
      read(
        (db) =>
          (
            db
              .prepare("SELECT count(*) AS n FROM events WHERE type = ? AND subject_id = ?")
              .get(type, subject) as { n: number }
          ).n,
      ),
  };
}

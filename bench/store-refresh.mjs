// How refresh cost grows with the number of sessions in the SQLite store.
// Run after `npm install`: node bench/store-refresh.mjs [--sizes 1000,100000,1000000]
// Prints a table and writes bench/results/store-refresh.json. Figures are ratios within
// one run on one machine; nothing here is asserted.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSqliteStore } from "@prolong/store-sqlite";
import Database from "better-sqlite3";

const arg = process.argv.indexOf("--sizes");
const sizes = (arg > 0 ? process.argv[arg + 1] : "1000,100000,1000000").split(",").map(Number);
const ROTATIONS = 20_000;
const T0 = Date.UTC(2026, 0, 1);

const SUBJECTS = 50_000;

/** Inserts `count` sessions and their subjects straight into the file, through a connection of its own. */
function fill(path, count) {
  const db = new Database(path);
  const subject = db.prepare(
    "INSERT INTO subjects (id, created_at, updated_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
  );
  const insert =
    db.prepare(`INSERT INTO sessions (id, subject_id, client_id, created_at, auth_time, last_active_at,
    idle_expires_at, absolute_expires_at, token_version, generation, current_hash)
    VALUES (?, ?, 'web', ?, ?, ?, ?, NULL, 0, 0, ?)`);
  const batch = db.transaction((from, to) => {
    for (let i = from; i < to; i++) {
      if (i < SUBJECTS) subject.run(`u${i}`, T0, T0);
      insert.run(`s${i}`, `u${i % SUBJECTS}`, T0, T0, T0, T0 + 86_400_000, `h${i}-0`);
    }
  });
  for (let i = 0; i < count; i += 100_000) batch(i, Math.min(count, i + 100_000));
  db.close();
}

const rows = [];
for (const size of sizes) {
  const dir = mkdtempSync(join(tmpdir(), "prolong-bench-"));
  const path = join(dir, "bench.db");
  const store = openSqliteStore({ path });
  fill(path, size);
  const generation = new Map();
  const started = process.hrtime.bigint();
  for (let n = 0; n < ROTATIONS; n++) {
    const i = (n * 7919) % size;
    const g = generation.get(i) ?? 0;
    const outcome = await store.sessions.rotate({
      sessionId: `s${i}`,
      clientId: "web",
      generation: g,
      presentedHash: `h${i}-${g}`,
      successorHash: `h${i}-${g + 1}`,
      now: T0 + 1000 + n,
      graceMs: 30_000,
      idleTimeoutMs: 86_400_000,
    });
    if (outcome.status !== "rotated") throw new Error(`unexpected ${outcome.status}`);
    generation.set(i, g + 1);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  rows.push({
    sessions: size,
    rotationsPerSecond: Math.round(ROTATIONS / seconds),
    microsPerRotation: (seconds / ROTATIONS) * 1e6,
  });
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}

const base = rows[0].rotationsPerSecond;
console.log("sessions     rotations/s   µs/rotation   ratio to smallest");
for (const r of rows) {
  console.log(
    `${String(r.sessions).padEnd(12)} ${String(r.rotationsPerSecond).padStart(11)}   ${r.microsPerRotation.toFixed(1).padStart(11)}   ${(r.rotationsPerSecond / base).toFixed(2).padStart(17)}`,
  );
}
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
writeFileSync(
  new URL("./results/store-refresh.json", import.meta.url),
  `${JSON.stringify({ rotations: ROTATIONS, rows }, null, 2)}\n`,
);

// A second process on a SQLite database file, as another prolong instance, the CLI or a
// backup would be: takes the write lock (`BEGIN IMMEDIATE`), says so, and commits when its
// parent says "release" or after `forMs` (argv[3], may be empty) on its own; `sql`
// (argv[4]), if given, runs inside its transaction, as another process's write would. It
// reports wall-clock times, which every process on the machine shares, so a test can
// order events across processes.
import Database from "better-sqlite3";

const [path, forMs, sql] = process.argv.slice(2);
const db = new Database(path);
db.exec("BEGIN IMMEDIATE");
if (sql) db.exec(sql);
process.send({ type: "locked", at: Date.now() });

let timer;
function release() {
  if (!db.open) return;
  clearTimeout(timer);
  db.exec("COMMIT");
  db.close();
  process.send({ type: "released", at: Date.now() }, () => process.disconnect());
}
if (forMs) timer = setTimeout(release, Number(forMs));
process.on("message", (message) => {
  if (message === "release") release();
});
// A parent that went away must not leave the file locked.
process.on("disconnect", () => {
  if (db.open) db.close();
  process.exit(0);
});

// better-auth as a user of it would run it on Node: its node:http handler, SQLite through
// better-sqlite3, e-mail and password sign-in, and its jwt plugin (GET /api/auth/token
// answers an EdDSA JWT for the caller's session). Started by bench/peers.mjs as a process
// of its own; bound to 127.0.0.1.
//   node bench/peers/better-auth-server.mjs --port P --db FILE
// The secret comes from BETTER_AUTH_SECRET. Prints "better-auth listening on URL" once up.
import { createServer } from "node:http";
import { betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { toNodeHandler } from "better-auth/node";
import { jwt } from "better-auth/plugins";
import Database from "better-sqlite3";
import { benchOptions } from "../lib/args.mjs";

const options = benchOptions({
  port: { type: "number", default: 0, min: 0, max: 65_535, integer: true },
  db: { type: "string" },
});
const port = options.port;
const baseURL = `http://127.0.0.1:${port}`;

const database = new Database(options.db);
// The same journal settings as prolong's SQLite store, so both pay the same for a write.
database.pragma("journal_mode = WAL");
database.pragma("synchronous = NORMAL");

const auth = betterAuth({
  baseURL,
  secret: process.env.BETTER_AUTH_SECRET,
  database,
  emailAndPassword: { enabled: true },
  // The jwt plugin with its defaults: EdDSA (Ed25519) keys kept in the database, the
  // private key encrypted with the secret.
  plugins: [jwt()],
  // Off, as prolong's limits are raised out of the way: the bench measures the endpoints.
  rateLimit: { enabled: false },
  telemetry: { enabled: false },
  logger: { level: "error" },
});

// The schema (user, session, account, verification, jwks), created offline from the
// options above with better-auth's own migration API.
const { runMigrations } = await getMigrations(auth.options);
await runMigrations();

const server = createServer(toNodeHandler(auth));
server.listen(port, "127.0.0.1", () => console.log(`better-auth listening on ${baseURL}`));
// Keep-alive connections would hold close() open until they time out.
const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

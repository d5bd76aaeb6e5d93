// prolong on its memory store (@prolong/store-memory), as an application embedding it
// runs it: createProlong with the store given, its standalone Fastify server
// (`buildServer`, what `prolong serve` listens with). `prolong serve --store memory:`
// starts empty and cannot be seeded from another process, hence this script. Started by
// bench/peers.mjs as a process of its own; bound to 127.0.0.1.
//   node bench/peers/prolong-memory-server.mjs --port P --sessions N --tokens FILE [--stats FILE]
// Before listening it starts N native sessions (one account each) through the engine and
// writes their refresh tokens to FILE as a JSON array; --stats writes what seeding took:
// seconds, and the process's RSS and V8 heap in use before and after (each read after a
// full collection when started with --expose-gc, as bench/refresh-stores.mjs starts it).
// Prints "prolong (memory) listening on URL" once up.
import { writeFileSync } from "node:fs";
import { createProlong } from "@prolong/server";
import { MemoryStore } from "@prolong/store-memory";
import { benchOptions } from "../lib/args.mjs";
import { UNLIMITED_RATE_LIMITS } from "../lib/refresh-load.mjs";

const options = benchOptions({
  port: { type: "number", default: 0, min: 1, max: 65_535, integer: true },
  sessions: { type: "number", default: 200, min: 1, max: 1_000_000, integer: true },
  tokens: { type: "string" },
  stats: { type: "string", default: "" },
});
/** RSS and heap in use now, after a full collection where `gc` is exposed. */
const memory = () => {
  /** @type {{ gc?: () => void }} */ (globalThis).gc?.();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heapUsed };
};
const issuer = `http://127.0.0.1:${options.port}`;
const store = new MemoryStore();
const prolong = await createProlong(
  { issuer, logLevel: "warn", rateLimits: UNLIMITED_RATE_LIMITS },
  { store },
);
const before = memory();
const started = performance.now();
/** @type {string[]} */
const tokens = [];
for (let i = 0; i < options.sessions; i++) {
  const { subject } = await prolong.engine.createAccount({ username: `bench-${i}` });
  const set = await prolong.engine.startSessionForSubject({ subjectId: subject.id, clientId: "native" });
  tokens.push(set.refreshToken);
}
const seedSeconds = (performance.now() - started) / 1000;
writeFileSync(/** @type {string} */ (options.tokens), JSON.stringify(tokens));
if (options.stats) writeFileSync(options.stats, JSON.stringify({ seedSeconds, before, after: memory() }));

const app = await prolong.buildServer();
await app.listen({ port: options.port, host: "127.0.0.1" });
console.log(`prolong (memory) listening on ${issuer}`);
const stop = () => {
  app.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

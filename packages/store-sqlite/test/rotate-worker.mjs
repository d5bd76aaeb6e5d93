// One "server process" for the contention test: opens the shared database file and
// presents the same refresh token as every other worker, as racing tabs would.
import { parentPort, workerData } from "node:worker_threads";
import { openSqliteStore } from "@prolong/store-sqlite";

const store = openSqliteStore({ path: workerData.path });
const statuses = [];
// Wait for the go signal so all workers hit the file at once.
const go = new Int32Array(workerData.signal);
Atomics.wait(go, 0, 0);
for (let i = 0; i < workerData.attempts; i++) {
  const outcome = await store.sessions.rotate(workerData.request);
  statuses.push(outcome.status);
}
await store.close();
parentPort.postMessage(statuses);

// One "server process" for the session-limit race: opens the shared database file and
// starts its sessions for one subject under a limit, as a sign-in on each instance would.
import { parentPort, workerData } from "node:worker_threads";
import { openSqliteStore } from "@prolong/store-sqlite";

const store = openSqliteStore({ path: workerData.path });
const outcomes = [];
// Wait for the go signal so all workers hit the file at once.
const go = new Int32Array(workerData.signal);
Atomics.wait(go, 0, 0);
for (const session of workerData.sessions) {
  outcomes.push(await store.sessions.createSession(session, workerData.limit));
}
await store.close();
parentPort.postMessage(outcomes);

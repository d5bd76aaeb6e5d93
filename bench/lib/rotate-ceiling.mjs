// A store's own refresh ceiling: `sessions.rotate` called straight from the bench, with
// no HTTP, no engine and no token codec in the measured time: what one process can get
// out of the store, which no server on it can beat. Shared by bench/stores.mjs and
// bench/refresh-stores.mjs.

/**
 * A rotation to make: `request` is a RotateRequest whose `now` is set as it is sent;
 * `done` is called once the store answered `rotated`, so the caller's record of each
 * session's current token moves on only for rotations that happened.
 * @typedef {{ request: import("@prolong/core").RotateRequest, done: () => void }} PlannedRotation
 */

/**
 * @typedef {object} RotationOptions
 * @property {number} concurrency
 * @property {number} maxSeconds
 * @property {() => number | null} [databaseCpuSeconds]
 * @property {(done: number, total: number) => void} [onProgress]
 */

/** @typedef {Awaited<ReturnType<typeof measureRotations>>} RotationFigures */

/**
 * Sends the rotations of `plan` in order through `store.sessions.rotate`, `concurrency`
 * at a time, until all are answered or `maxSeconds` have passed (then none is sent after;
 * those sent are awaited). Every answer must be `rotated`: anything else means the plan
 * and the data disagree, and the measurement would not be of rotations, so it throws.
 * A plan names each session at most once, so no two of its rotations race.
 *
 * Returns rotations per second, latency percentiles in µs (from the call to its answer,
 * so at concurrency > 1 the wait in the store's queue or pool included), and CPU per
 * rotation: this process's (the store's client, or all of SQLite), and the database
 * server's when `databaseCpuSeconds` reads it.
 * @param {import("@prolong/core").Store} store
 * @param {readonly PlannedRotation[]} plan
 * @param {RotationOptions} options
 */
export async function measureRotations(store, plan, options) {
  const { concurrency, maxSeconds, databaseCpuSeconds = () => null, onProgress = () => {} } = options;
  const latencies = new Float64Array(plan.length);
  let sent = 0;
  let answered = 0;
  const cpuBefore = process.cpuUsage();
  const databaseBefore = databaseCpuSeconds();
  const started = performance.now();
  const deadline = started + maxSeconds * 1000;
  const lane = async () => {
    while (sent < plan.length && performance.now() < deadline) {
      const { request, done } = /** @type {PlannedRotation} */ (plan[sent++]);
      request.now = Date.now();
      const t0 = performance.now();
      const outcome = await store.sessions.rotate(request);
      latencies[answered++] = performance.now() - t0;
      if (outcome.status !== "rotated")
        throw new Error(`rotate of session ${request.sessionId} answered ${outcome.status}, not rotated`);
      done();
      if (answered % 1000 === 0) onProgress(answered, plan.length);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const databaseAfter = databaseCpuSeconds();
  const sorted = latencies.subarray(0, answered).sort();
  const percentile = (/** @type {number} */ p) =>
    (sorted[Math.min(answered - 1, Math.floor((p / 100) * answered))] ?? Number.NaN) * 1000;
  return {
    concurrency,
    rotations: answered,
    seconds,
    rotationsPerSecond: answered / seconds,
    p50Micros: percentile(50),
    p99Micros: percentile(99),
    clientCpuMicrosPerRotation: (cpu.user + cpu.system) / answered,
    databaseCpuMicrosPerRotation:
      databaseBefore === null || databaseAfter === null
        ? null
        : ((databaseAfter - databaseBefore) * 1e6) / answered,
  };
}

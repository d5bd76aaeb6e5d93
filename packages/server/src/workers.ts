import cluster, { type Worker } from "node:cluster";
import { pino } from "pino";
import type { ServerConfig } from "./config.js";
import { closeOnSignals, readyLine, seedDemoUser, startServer, startupNotes } from "./serve.js";
import { serverCore } from "./server-core.js";
import { openStore } from "./store.js";

/** What a worker tells its primary once it listens. */
interface ReadyMessage {
  prolong: "ready";
  port: number;
}

const isReady = (message: unknown): message is ReadyMessage =>
  typeof message === "object" && message !== null && (message as ReadyMessage).prolong === "ready";

/**
 * How many unexpected worker deaths the primary replaces: at most `deaths` within any
 * `withinMs`. Past that the workers are crashing as fast as they start (a broken store,
 * a bug every request hits), and replacing them would only spin.
 */
export class RespawnBudget {
  readonly deaths: number;
  readonly withinMs: number;
  readonly #at: number[] = [];

  constructor(deaths: number, withinMs: number) {
    this.deaths = deaths;
    this.withinMs = withinMs;
  }

  /** Counts a death at `now`; whether it may still be replaced. */
  spend(now: number): boolean {
    this.#at.push(now);
    while ((this.#at[0] as number) <= now - this.withinMs) this.#at.shift();
    return this.#at.length <= this.deaths;
  }
}

/** The default budget: a minute's worth of deaths, as many as there are workers and at least 5. */
export const respawnBudgetFor = (workers: number) => new RespawnBudget(Math.max(5, workers), 60_000);

export interface SupervisorOptions {
  /** Start-up notes and the ready line, for the person at the console. */
  print?: (line: string) => void;
  /** Why the primary stops on its own (a worker that could not start, a crash loop). */
  fail?: (line: string) => void;
  budget?: RespawnBudget;
}

/**
 * Makes the store ready before workers open it at once, then closes it: the schema
 * migrated, the signing keys made, the secrets claimed, the demo user seeded. Each of
 * these is safe when processes race (transactions, atomic claims), but racing workers
 * on a fresh store would each publish a next signing key of their own, and in demo mode
 * each try to create the demo user, all but one failing. Returns the demo user's
 * password when one was made.
 */
export async function prepareStore(config: ServerConfig): Promise<string | null> {
  const store = await openStore(config.store);
  try {
    const { engine } = await serverCore(config, store);
    return await seedDemoUser(config, engine);
  } finally {
    await store.close();
  }
}

/**
 * `prolong serve --workers N`, in the primary process: prepares the store, forks N
 * workers that each run the ordinary server on the same port (node:cluster hands them
 * the connections), and prints the start-up lines once all of them listen. The primary
 * serves nothing and keeps no store open. A worker that dies is replaced, within
 * `budget`; SIGTERM or SIGINT stops every worker gracefully, a second one kills them.
 * Resolves with the exit code once every worker has gone: 0 after a clean stop, 1 when
 * a worker could not start, the budget ran out or the stop was forced.
 */
export async function superviseWorkers(
  config: ServerConfig,
  options: SupervisorOptions = {},
): Promise<number> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const fail = options.fail ?? ((line: string) => process.stderr.write(`prolong: ${line}\n`));
  const budget = options.budget ?? respawnBudgetFor(config.workers);
  const log = pino({ level: config.logLevel });
  const demoPassword = await prepareStore(config);

  const live = new Set<Worker>();
  const listening = new Set<number>();
  let up = false;
  let stopping = false;
  let code = 0;
  let finish: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => {
    finish = resolve;
  });

  const fork = () => live.add(cluster.fork());
  const stop = (exitCode: number) => {
    stopping = true;
    code = Math.max(code, exitCode);
    for (const worker of live) worker.process.kill("SIGTERM");
    if (live.size === 0) finish(code);
  };

  cluster.on("message", (worker, message: unknown) => {
    if (!isReady(message) || stopping) return;
    if (up) {
      log.info({ worker: worker.id, workerPid: worker.process.pid }, "replacement worker is listening");
      return;
    }
    listening.add(worker.id);
    if (listening.size < config.workers) return;
    up = true;
    for (const line of startupNotes(config, demoPassword)) print(line);
    print(readyLine(config, message.port, config.workers));
  });

  cluster.on("exit", (worker, exitCode, signal) => {
    live.delete(worker);
    const how = signal ? `signal ${signal}` : `code ${exitCode}`;
    if (stopping) {
      // SIGTERM itself ends a worker that had not yet set up its graceful stop.
      if (exitCode !== 0 && signal !== "SIGTERM") code = 1;
      if (live.size === 0) finish(code);
      return;
    }
    if (!up) {
      fail(`worker ${worker.id} exited (${how}) before it was listening; stopping the others`);
      stop(1);
    } else if (!budget.spend(Date.now())) {
      fail(
        `${budget.deaths + 1} workers died within ${budget.withinMs / 1000} s (the last: worker ${worker.id}, ${how}); not starting more, stopping the others`,
      );
      stop(1);
    } else {
      log.warn(
        { worker: worker.id, workerPid: worker.process.pid, exitCode, signal },
        "worker died; starting another",
      );
      fork();
    }
  });

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (++signals === 1) {
      log.info({ signal }, "shutting down: stopping the workers");
      stop(0);
      return;
    }
    // Asked twice: in-flight requests are given up on.
    for (const worker of live) worker.process.kill("SIGKILL");
    fail(`${signal} again: workers killed`);
    finish(1);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);

  for (let i = 0; i < config.workers; i++) fork();
  return done;
}

/**
 * `prolong serve` in a worker: the ordinary server, its log lines carrying the worker's
 * id (`"worker": 2`), its start-up notes left to the primary, which it tells once it
 * listens. It stops gracefully on SIGTERM (from the primary) or SIGINT (a terminal's),
 * and exits by itself if the primary goes away (node:cluster).
 */
export async function serveAsWorker(config: ServerConfig): Promise<void> {
  const id = cluster.worker?.id ?? 0;
  const { app, port } = await startServer(config, { print: () => {}, logBindings: { worker: id } });
  closeOnSignals(app, "ignore");
  process.send?.({ prolong: "ready", port } satisfies ReadyMessage);
}

// What a bench that starts servers needs so that none outlives it: cleanup steps run
// once, last added first, when the bench ends, on Ctrl-C or SIGTERM, and when it overruns
// its time budget.

/** @typedef {ReturnType<typeof cleanupOnExit>} Cleanup */

/**
 * Installs the signal handlers and the budget timer; `add` a step as each thing starts.
 * @param {number} budgetMs
 */
export function cleanupOnExit(budgetMs) {
  /** @type {(() => unknown)[]} */
  const steps = [];
  /** @type {Promise<void> | null} */
  let running = null;
  let interrupted = false;
  const run = () => {
    running ??= (async () => {
      for (const step of steps.splice(0).reverse()) {
        try {
          await step();
        } catch (error) {
          console.error(`cleanup: ${/** @type {Error} */ (error).message}`);
        }
      }
    })();
    return running;
  };
  const stop = (/** @type {number} */ code, /** @type {string} */ message) => async () => {
    interrupted = true;
    console.error(`\n${message}`);
    await run();
    process.exit(code);
  };
  process.once("SIGINT", stop(130, "interrupted: stopping servers"));
  process.once("SIGTERM", stop(143, "terminated: stopping servers"));
  setTimeout(stop(1, `still running after ${Math.round(budgetMs / 1000)} s: stopping`), budgetMs).unref();
  return {
    /** @param {() => unknown} step */
    add: (step) => {
      steps.push(step);
    },
    run,
    /** True once a signal or the budget stopped the bench: the errors that follow are its echoes. */
    get interrupted() {
      return interrupted;
    },
  };
}

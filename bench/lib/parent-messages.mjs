// What a forked load generator hears from the bench that started it, and says back.

/**
 * Sends `message` to the parent; a process started without an IPC channel has no one to
 * tell, which is a mistake in how it was started.
 * @param {unknown} message
 */
export function sendToParent(message) {
  if (!process.send) throw new Error("this process must be forked with an IPC channel");
  process.send(message);
}

/**
 * Starts listening to the parent process at once (its first messages may arrive before
 * the generator has loaded autocannon) and exits when the parent goes. Returns a function
 * that resolves with the next message, in order; the caller knows what it sent.
 * @returns {() => Promise<any>}
 */
export function listenToParent() {
  /** @type {unknown[]} */
  const inbox = [];
  /** @type {(value?: unknown) => void} */
  let arrived = () => {};
  process.on("message", (message) => {
    inbox.push(message);
    arrived();
  });
  process.on("disconnect", () => process.exit(0));
  return async () => {
    while (inbox.length === 0) await new Promise((resolve) => (arrived = resolve));
    return inbox.shift();
  };
}

// What a forked load generator hears from the bench that started it.

/**
 * Starts listening to the parent process at once (its first messages may arrive before
 * the generator has loaded autocannon) and exits when the parent goes. Returns a function
 * that resolves with the next message, in order.
 */
export function listenToParent() {
  const inbox = [];
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

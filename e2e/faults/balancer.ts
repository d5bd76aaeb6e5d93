import { connect, createServer, type Socket } from "node:net";

export interface Balancer {
  /** `http://127.0.0.1:PORT`: the one address clients know, the servers' issuer. */
  readonly url: string;
  /** The instances new connections go to, in turn; the test keeps it to those alive. */
  setTargets(urls: string[]): void;
  close(): Promise<void>;
}

/**
 * A TCP load balancer on loopback, as in front of several instances: each new connection
 * goes to the next instance in turn, or to the one after if that refuses it. A connection
 * to an instance that dies breaks with it; the client's next connection finds another.
 */
export async function startBalancer(): Promise<Balancer> {
  let targets: URL[] = [];
  let turn = 0;
  const sockets = new Set<Socket>();

  const server = createServer((client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => client.destroy());
    client.pause();
    const tryTarget = (left: number) => {
      const target = targets[turn++ % Math.max(targets.length, 1)];
      if (!target || left === 0) {
        client.destroy();
        return;
      }
      const origin = connect(Number(target.port), target.hostname);
      sockets.add(origin);
      let connected = false;
      origin.once("connect", () => {
        connected = true;
        client.pipe(origin);
        origin.pipe(client);
        client.resume();
      });
      origin.on("error", () => {
        origin.destroy();
        // Refused before anything was sent: another instance may take it.
        if (!connected) tryTarget(left - 1);
        else client.destroy();
      });
      origin.on("close", () => {
        sockets.delete(origin);
        if (connected) client.destroy();
      });
      client.on("close", () => origin.destroy());
    };
    tryTarget(targets.length);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (typeof address !== "object" || !address) throw new Error("balancer has no address");
  return {
    url: `http://127.0.0.1:${address.port}`,
    setTargets(urls) {
      targets = urls.map((u) => new URL(u));
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

import type { Server } from "node:http";

/** A server a test started on loopback: its origin, and how to stop it. */
export interface Listening {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** Closes the server and the connections still open to it (keep-alive ones included). */
  close: () => Promise<void>;
}

/** Starts `server` on a free loopback port. */
export async function listenOnLoopback(server: Server): Promise<Listening> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

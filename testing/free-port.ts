import { createServer } from "node:net";

/**
 * A loopback port nobody uses right now, so a server's address can be known before it
 * starts (the issuer URL of a prolong server, the port of a test PostgreSQL).
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

import { connect, createServer, type Socket } from "node:net";

/** Bytes of a truncated answer's body that reach the client. */
const BODY_BYTES_SENT = 8;

/** How an answer is lost: nothing of it reaches the client, or its head and part of its body do. */
export type Loss = "drop" | "truncate";

export interface LossyProxy {
  /** `http://127.0.0.1:PORT`: where clients send what is meant for the server. */
  readonly url: string;
  /** Where requests go on to; set once the server is up. */
  target(url: string): void;
  /**
   * The answer to the next request whose request line starts with `requestLine` (for
   * example `POST /oauth/token`) is lost in the way `loss` says, once the server has
   * begun to send it: the server handled the request, the client never learns how.
   */
  loseNext(requestLine: string, loss: Loss): void;
  /** Answers lost so far. */
  readonly lost: number;
  close(): Promise<void>;
}

/**
 * A TCP proxy on loopback between a client and a server, that forwards bytes both ways
 * and, when asked, loses one answer: the connection breaks after the server's answer
 * started to arrive, so whatever the request did at the server (a rotation committed) is
 * done, as when a mobile network drops or a load balancer restarts mid-response.
 */
export async function startLossyProxy(): Promise<LossyProxy> {
  let upstream: URL | null = null;
  const armed: { requestLine: string; loss: Loss }[] = [];
  const sockets = new Set<Socket>();
  let lost = 0;

  const server = createServer((client) => {
    sockets.add(client);
    if (!upstream) {
      client.destroy();
      return;
    }
    const origin = connect(Number(upstream.port), upstream.hostname);
    sockets.add(origin);
    /** The loss the answer to this connection's request in flight is doomed to, if any. */
    let doomed: Loss | null = null;
    const close = () => {
      client.destroy();
      origin.destroy();
    };
    client.on("data", (chunk: Buffer) => {
      // Keep-alive: one request at a time per connection (fetch does not pipeline), its
      // request line at the start of the first chunk.
      const head = chunk.subarray(0, 64).toString("latin1");
      const at = armed.findIndex((a) => head.startsWith(`${a.requestLine} `));
      if (at >= 0) doomed = (armed.splice(at, 1)[0] as { loss: Loss }).loss;
      origin.write(chunk);
    });
    /** What arrived of a doomed answer (truncate), until its head and a little of its body are in. */
    let arrived = Buffer.alloc(0);
    origin.on("data", (chunk: Buffer) => {
      if (doomed === null) {
        client.write(chunk);
        return;
      }
      if (doomed === "drop") {
        lost += 1;
        close();
        return;
      }
      // The head (status 200, Content-Length) and a few bytes of the body, then the end:
      // fetch resolves, and reading the body fails.
      arrived = Buffer.concat([arrived, chunk]);
      const end = arrived.indexOf("\r\n\r\n");
      if (end < 0 || arrived.length < end + 4 + BODY_BYTES_SENT) return;
      lost += 1;
      client.end(arrived.subarray(0, end + 4 + BODY_BYTES_SENT));
      origin.destroy();
    });
    client.on("end", () => origin.end());
    origin.on("end", () => client.end());
    for (const socket of [client, origin]) {
      socket.on("error", close);
      socket.on("close", () => {
        sockets.delete(socket);
        close();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (typeof address !== "object" || !address) throw new Error("proxy has no address");
  return {
    url: `http://127.0.0.1:${address.port}`,
    target(url) {
      upstream = new URL(url);
    },
    loseNext(requestLine, loss) {
      armed.push({ requestLine, loss });
    },
    get lost() {
      return lost;
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

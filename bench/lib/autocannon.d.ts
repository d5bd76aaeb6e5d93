// The part of autocannon (which ships no types) that the load generators use, as its
// README documents it.
declare module "autocannon" {
  interface Request {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string;
    /** Called before each send; the request it returns is sent. */
    setupRequest?: (request: Request) => Request;
    /** Called with each answer to this request. */
    onResponse?: (status: number, body: string) => void;
  }

  interface Client {
    setHeaders(headers: Record<string, string>): void;
    setRequests(requests: Request[]): void;
  }

  interface Options {
    url: string;
    connections: number;
    duration: number;
    pipelining?: number;
    /** Seconds before a request counts as timed out. */
    timeout?: number;
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    setupClient?: (client: Client) => void;
  }

  interface Result {
    requests: { total: number };
    /** Seconds the run took. */
    duration: number;
    statusCodeStats: Record<string, { count: number }>;
    errors: number;
    timeouts: number;
  }

  interface Instance extends PromiseLike<Result> {
    on(event: "tick", listener: (tick: { counter: number }) => void): this;
    on(
      event: "response",
      listener: (client: Client, status: number, bytes: number, ms: number) => void,
    ): this;
  }

  export default function autocannon(options: Options): Instance;
}

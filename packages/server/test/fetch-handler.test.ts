import Fastify, { type FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { trustProxyOption } from "../src/client-address.js";
import { fetchHandler } from "../src/fetch-handler.js";

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

/**
 * The Fetch handler over a Fastify instance of a few routes under `/auth`, standing in
 * for prolong's (the whole of prolong behind it runs in e2e/fetch-host.test.ts); `closed`
 * says whether the streamed answer's response was closed, as a socket's end closes it.
 */
function handlerOver(trustProxy: false | number | string[] = false) {
  const app = Fastify({ trustProxy: trustProxyOption(trustProxy), bodyLimit: 64 });
  apps.push(app);
  const stream = { closed: false };
  app.get("/auth/peer", async (request) => ({ ip: request.ip }));
  app.get("/auth/cookies", async (_request, reply) => {
    reply.header("set-cookie", ["a=1; Path=/auth", "b=2, with a comma; Path=/auth"]);
    return reply.header("connection", "keep-alive").header("vary", "Origin").send("ok");
  });
  app.get("/auth/empty", async (_request, reply) => reply.code(204).send());
  app.post("/auth/echo", async (request) => ({ received: request.body }));
  app.get("/auth/stream", async (_request, reply) => {
    reply.hijack();
    reply.raw.writeHead(200, { "content-type": "text/event-stream" });
    reply.raw.write("first\n");
    const more = setInterval(() => reply.raw.write("more\n"), 5);
    reply.raw.on("close", () => {
      clearInterval(more);
      stream.closed = true;
    });
  });
  return { handle: fetchHandler("/auth", async () => app), stream };
}

const at = (path: string, init?: RequestInit) => new Request(`https://app.example.test${path}`, init);

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe("the Fetch handler", () => {
  it("takes the client's address from the host, else an unknown peer proxy headers are believed of only by hop count", async () => {
    const { handle } = handlerOver();
    const given = await handle(at("/auth/peer"), { clientAddress: "203.0.113.7" });
    expect(await given.json()).toEqual({ ip: "203.0.113.7" });
    const unknown = await handle(at("/auth/peer", { headers: { "x-forwarded-for": "198.51.100.1" } }));
    expect(await unknown.json()).toEqual({ ip: "unknown" });

    // A loopback proxy is trusted only when it is the peer the host named, never by default.
    const listed = handlerOver(["loopback"]).handle;
    const spoofed = await listed(at("/auth/peer", { headers: { "x-forwarded-for": "198.51.100.1" } }));
    expect(await spoofed.json()).toEqual({ ip: "unknown" });
    const proxied = await listed(at("/auth/peer", { headers: { "x-forwarded-for": "198.51.100.1" } }), {
      clientAddress: "127.0.0.1",
    });
    expect(await proxied.json()).toEqual({ ip: "198.51.100.1" });
    const hops = handlerOver(1).handle;
    const counted = await hops(at("/auth/peer", { headers: { "x-forwarded-for": "198.51.100.1" } }));
    expect(await counted.json()).toEqual({ ip: "198.51.100.1" });
  });

  it("refuses a client address that is not an IP address, naming the field", async () => {
    const { handle } = handlerOver();
    await expect(handle(at("/auth/peer"), { clientAddress: "localhost" })).rejects.toThrow(
      'prolong.fetch: clientAddress: not an IP address ("localhost")',
    );
  });

  it("keeps every Set-Cookie whole and drops the headers of Fastify's own connection", async () => {
    const { handle } = handlerOver();
    const response = await handle(at("/auth/cookies"));
    expect(response.headers.getSetCookie()).toEqual(["a=1; Path=/auth", "b=2, with a comma; Path=/auth"]);
    expect(response.headers.get("vary")).toBe("Origin");
    expect(response.headers.has("connection")).toBe(false);
    expect(await response.text()).toBe("ok");
  });

  it("answers without a body where HTTP has none: 204 and HEAD", async () => {
    const { handle } = handlerOver();
    const empty = await handle(at("/auth/empty"));
    expect(empty.status).toBe(204);
    expect(empty.body).toBeNull();
    const head = await handle(at("/auth/peer", { method: "HEAD" }));
    expect(head.status).toBe(200);
    expect(head.body).toBeNull();
  });

  it("hands the body to Fastify under its body limit, and refuses a body the host already read", async () => {
    const { handle } = handlerOver();
    const echoed = await handle(
      at("/auth/echo", { method: "POST", headers: { "content-type": "application/json" }, body: '{"a":1}' }),
    );
    expect(await echoed.json()).toEqual({ received: { a: 1 } });
    const big = await handle(
      at("/auth/echo", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ a: "x".repeat(100) }),
      }),
    );
    expect(big.status).toBe(413);
    const read = at("/auth/echo", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    await read.text();
    await expect(handle(read)).rejects.toThrow(/the request body was read before prolong's handler/);
  });

  it("streams a long answer, and closes it when the host cancels the body", async () => {
    const { handle, stream } = handlerOver();
    const response = await handle(at("/auth/stream"));
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("first\n");
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("more\n");
    expect(stream.closed).toBe(false);
    await reader.cancel();
    await until(() => stream.closed);
    expect(stream.closed).toBe(true);
  });

  it("lets the host drop a short answer's body unread, with no error thrown where nobody catches it", async () => {
    const { handle } = handlerOver();
    const errors: unknown[] = [];
    const record = (error: unknown) => void errors.push(error);
    process.on("uncaughtException", record);
    try {
      for (let i = 0; i < 20; i++) {
        const response = await handle(at("/auth/cookies"));
        expect(response.status).toBe(200);
        await response.body?.cancel();
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      process.off("uncaughtException", record);
    }
    expect(errors).toEqual([]);
    expect(await (await handle(at("/auth/cookies"))).text()).toBe("ok");
  });

  it("closes a streamed answer when the host aborts the request (its client went away)", async () => {
    const { handle, stream } = handlerOver();
    const abort = new AbortController();
    const response = await handle(at("/auth/stream", { signal: abort.signal }));
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    abort.abort();
    await until(() => stream.closed);
    expect(stream.closed).toBe(true);
  });

  it("refuses a request outside the issuer's path with invalid_config", async () => {
    const { handle } = handlerOver();
    await expect(handle(at("/authx/oauth/token"))).rejects.toMatchObject({
      code: "invalid_config",
      message: expect.stringContaining(
        "mounted at a route given /authx/oauth/token but its issuer's path is /auth",
      ),
    });
  });
});

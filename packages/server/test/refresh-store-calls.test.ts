import type { Store } from "@prolong/core";
import { buildApp, engineFor, resolveConfig } from "@prolong/server";
import { describe, expect, it } from "vitest";
import {
  ADMIN_TOKEN,
  bearer,
  exchangeToken,
  FakeClock,
  ISSUER,
  login,
  RESOURCE_SECRET,
  refreshNative,
  testStore,
} from "./fixtures.js";

const CONCERNS = ["sessions", "accounts", "keys", "audit", "limits", "replay"] as const;

/**
 * The store under test with every call to every concern written down (`sessions.rotate`, …),
 * so a test can tell how many times a request went to the store: one call is one round
 * trip on PostgreSQL and Redis.
 */
function recorded(store: Store): { store: Store; calls: string[] } {
  const calls: string[] = [];
  const wrap = <T extends object>(name: string, concern: T): T =>
    new Proxy(concern, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          calls.push(`${name}.${String(property)}`);
          return value.apply(target, args);
        };
      },
    });
  const concerns = Object.fromEntries(CONCERNS.map((name) => [name, wrap(name, store[name])]));
  return {
    calls,
    store: {
      ...(concerns as Pick<Store, (typeof CONCERNS)[number]>),
      ping: () => store.ping(),
      close: () => store.close(),
    },
  };
}

async function app(settings: Record<string, unknown> = {}) {
  const clock = new FakeClock();
  const { store, calls } = recorded(await testStore());
  const config = resolveConfig({
    issuer: ISSUER,
    resourceSecret: RESOURCE_SECRET,
    adminToken: ADMIN_TOKEN,
    store: "memory:",
    ...settings,
  });
  const engine = await engineFor(config, store, { clock, passwordCost: { N: 1024, r: 8, p: 1 } });
  const built = await buildApp({ engine, config, rateLimitStore: store.limits, publicDir: null });
  await engine.createAccount({ username: "maryo", password: "correct horse battery" });
  /** The store calls `request` makes. */
  const callsOf = async <T>(request: () => Promise<T>): Promise<{ result: T; calls: string[] }> => {
    calls.length = 0;
    const result = await request();
    return { result, calls: [...calls] };
  };
  return { app: built, clock, callsOf };
}

describe("a refresh makes one store call, its rotation, which also checks and counts the session's budget", () => {
  it("a rotation, a grace-window replay and a straggler: one call each", async () => {
    const { app: server, callsOf } = await app();
    const first = (await login(server, { client_id: "native" })).body.refresh_token as string;
    const rotation = await callsOf(() => refreshNative(server, first));
    expect(rotation.result.statusCode).toBe(200);
    expect(rotation.calls).toEqual(["sessions.rotate"]);
    const replay = await callsOf(() => refreshNative(server, first));
    expect(replay.result.json().refresh_token).toBe(rotation.result.json().refresh_token);
    expect(replay.calls).toEqual(["sessions.rotate"]);
    await refreshNative(server, rotation.result.json().refresh_token);
    const straggler = await callsOf(() => refreshNative(server, first));
    expect(straggler.result.statusCode).toBe(200);
    expect(straggler.result.json().refresh_token).toBeUndefined();
    expect(straggler.calls).toEqual(["sessions.rotate"]);
  });

  it("over the budget: one call, answered 429 with Retry-After, and the token still rotates once the window ends", async () => {
    const {
      app: server,
      clock,
      callsOf,
    } = await app({
      rateLimits: { grantsPerSession: { max: 2, windowSeconds: 60 } },
    });
    let token = (await login(server, { client_id: "native" })).body.refresh_token as string;
    for (let i = 0; i < 2; i++) token = (await refreshNative(server, token)).json().refresh_token;
    const over = await callsOf(() => refreshNative(server, token));
    expect(over.result.statusCode).toBe(429);
    expect(over.result.json().error).toBe("rate_limited");
    expect(Number(over.result.headers["retry-after"])).toBe(60);
    expect(over.calls).toEqual(["sessions.rotate"]);
    clock.advance(60);
    // Nothing was rotated by the refusal: the same token is still the current one.
    expect((await refreshNative(server, token)).statusCode).toBe(200);
  });

  it("a failed refresh of a known session: one call, and it spends the session's budget", async () => {
    const { app: server, callsOf } = await app({
      rateLimits: { grantsPerSession: { max: 2, windowSeconds: 60 } },
    });
    const { body } = await login(server, { client_id: "native" });
    const token = body.refresh_token as string;
    await server.inject({ method: "POST", url: "/logout", headers: bearer(body.access_token as string) });
    const failed = await callsOf(() => refreshNative(server, token));
    expect(failed.result.statusCode).toBe(400);
    expect(failed.calls).toEqual(["sessions.rotate"]);
    expect((await refreshNative(server, token)).statusCode).toBe(400);
    expect((await refreshNative(server, token)).statusCode).toBe(429);
  });

  it("an exchange spends the same budget in the call that records the activity", async () => {
    const { app: server, callsOf } = await app({
      profiles: { native: { absoluteLifetime: 86_400, exchange: true } },
      rateLimits: { grantsPerSession: { max: 1, windowSeconds: 60 } },
    });
    const { body } = await login(server, { client_id: "native" });
    const exchanged = await callsOf(() => exchangeToken(server, body.access_token as string));
    expect(exchanged.result.statusCode).toBe(200);
    expect(exchanged.calls).toEqual(["sessions.readSession", "sessions.touchSession"]);
    expect((await refreshNative(server, body.refresh_token as string)).statusCode).toBe(429);
  });
});

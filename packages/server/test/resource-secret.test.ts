import { SessionEngine, type Store } from "@prolong/core";
import { buildApp, createProlong, resolveConfig } from "@prolong/server";
import type { FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { ISSUER, testStore } from "./fixtures.js";

const CHEAP_PASSWORDS = { N: 1024, r: 8, p: 1 };
const apps: FastifyInstance[] = [];
const closings: (() => Promise<void>)[] = [];

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
  await Promise.all(closings.splice(0).map((close) => close()));
});

/** The standalone app over `store`, as a second process on the same database would build it. */
async function appOver(store: Store) {
  const config = resolveConfig({ issuer: ISSUER, store: "memory:", logLevel: "silent" });
  const engine = await SessionEngine.create({ store, issuer: ISSUER, passwordCost: CHEAP_PASSWORDS });
  const app = await buildApp({ engine, config, rateLimitStore: store.limits });
  apps.push(app);
  return { app, engine };
}

const INTROSPECT = "/oauth/introspect";

describe("the resource servers' secret, when none is configured", () => {
  it("is the one kept in the store, for every app built on that store", async () => {
    const store = await testStore();
    const first = await appOver(store);
    const second = await appOver(store);
    // What `prolong secrets resource` prints: the stored secret (a new candidate is ignored).
    const stored = await first.engine.resourceSecret("a candidate that is never stored");
    expect(stored).not.toBe("a candidate that is never stored");
    expect(Buffer.from(stored, "base64url")).toHaveLength(24);
    for (const { app } of [first, second]) {
      expect(await introspect(app, stored)).toBe(200);
      expect(await introspect(app, `${stored}x`)).toBe(401);
    }
  });

  it("is the same for two createProlong on one store, and their apps take it", async () => {
    const store = await testStore();
    const settings = { issuer: ISSUER, logLevel: "silent" as const };
    const options = { store, engine: { passwordCost: CHEAP_PASSWORDS } };
    const one = await createProlong(settings, options);
    const two = await createProlong(settings, options);
    closings.push(
      () => one.close(),
      () => two.close(),
    );
    const stored = await one.engine.resourceSecret("a candidate that is never stored");
    for (const prolong of [one, two]) {
      const app = await prolong.buildServer();
      apps.push(app);
      expect(await introspect(app, stored)).toBe(200);
    }
  });

  it("is the configured one when there is one", async () => {
    const store = await testStore();
    const config = resolveConfig({
      issuer: ISSUER,
      store: "memory:",
      logLevel: "silent",
      resourceSecret: "configured-resource-secret",
    });
    const engine = await SessionEngine.create({ store, issuer: ISSUER, passwordCost: CHEAP_PASSWORDS });
    const app = await buildApp({ engine, config, rateLimitStore: store.limits });
    apps.push(app);
    expect(await introspect(app, "configured-resource-secret")).toBe(200);
    expect(await introspect(app, await engine.resourceSecret("unused candidate"))).toBe(401);
  });
});

async function introspect(app: FastifyInstance, secret: string): Promise<number> {
  const response = await app.inject({
    method: "POST",
    url: INTROSPECT,
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: `Basic ${Buffer.from(`resource:${secret}`).toString("base64")}`,
    },
    payload: "token=not-a-token",
  });
  return response.statusCode;
}

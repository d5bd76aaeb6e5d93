import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SessionEngine } from "@prolong/core";
import { buildApp, resolveConfig } from "@prolong/server";
import { openSqliteStore } from "@prolong/store-sqlite";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import {
  bearer,
  FakeClock,
  form,
  ISSUER,
  login,
  PASSWORD,
  refreshCookieOf,
  refreshNative,
  refreshWeb,
} from "./fixtures.js";

/**
 * A database outage with real parts: the server over a real SQLite file whose write lock
 * another connection holds (`BEGIN IMMEDIATE`), as a second process or a stuck backup would.
 */

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function sqliteApp() {
  const dir = mkdtempSync(join(tmpdir(), "prolong-outage-"));
  const path = join(dir, "prolong.db");
  // A short busy timeout, so a write that meets the lock gives up within the test.
  const store = openSqliteStore({ path, busyTimeout: 100 });
  const clock = new FakeClock();
  const engine = await SessionEngine.create({
    store,
    clock,
    issuer: ISSUER,
    passwordCost: { N: 1024, r: 8, p: 1 },
  });
  await engine.createAccount({ username: "maryo", password: PASSWORD });
  const config = resolveConfig({ issuer: ISSUER, store: `sqlite:${path}`, logLevel: "silent" });
  const app = await buildApp({ engine, config, rateLimitStore: store.limits });
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  cleanups.push(() => store.close());
  cleanups.push(() => app.close());
  return { app, path, clock, store };
}

/** Holds the database's write lock from a second connection until released. */
function holdWriteLock(path: string) {
  const other = new Database(path);
  other.exec("BEGIN IMMEDIATE");
  const release = () => {
    if (!other.open) return;
    other.exec("COMMIT");
    other.close();
  };
  cleanups.push(release);
  return release;
}

describe("a store that cannot write", () => {
  it("answers a cookie refresh 503 temporarily_unavailable with Retry-After and keeps the cookie", async () => {
    const { app, path } = await sqliteApp();
    const { response: signIn } = await login(app);
    const cookie = refreshCookieOf(signIn) as string;

    const release = holdWriteLock(path);
    const refused = await refreshWeb(app, cookie, { headers: { origin: ISSUER } });
    expect(refused.statusCode).toBe(503);
    expect(refused.headers["retry-after"]).toMatch(/^\d+$/);
    expect(refused.json()).toMatchObject({ error: "temporarily_unavailable" });
    expect(refused.json()).not.toHaveProperty("prolong_error");
    // No Set-Cookie at all: the browser keeps the refresh token it has.
    expect(refused.headers["set-cookie"]).toBeUndefined();

    release();
    const refreshed = await refreshWeb(app, cookie, { headers: { origin: ISSUER } });
    expect(refreshed.statusCode).toBe(200);
    expect(refreshCookieOf(refreshed)).toMatch(/^[A-Za-z0-9_-]{91}$/);
  });

  it("answers 503 with Retry-After, not 401 or 400, on sign-in, bearer routes and revocation", async () => {
    const { app, path } = await sqliteApp();
    const { body } = await login(app, { client_id: "native" });
    const release = holdWriteLock(path);

    const signIn = await app.inject({
      method: "POST",
      url: "/login",
      payload: { username: "maryo", password: PASSWORD },
    });
    expect(signIn.statusCode).toBe(503);
    expect(signIn.headers["retry-after"]).toMatch(/^\d+$/);
    expect(signIn.json()).toMatchObject({ error: "store_unavailable" });

    // Reads still work in WAL mode: listing devices answers; ending one must not say "invalid token".
    expect(
      (await app.inject({ method: "GET", url: "/sessions", headers: bearer(body.access_token as string) }))
        .statusCode,
    ).toBe(200);
    const logout = await app.inject({
      method: "POST",
      url: "/logout",
      headers: bearer(body.access_token as string),
      payload: {},
    });
    expect(logout.statusCode).toBe(503);
    expect(logout.json()).toMatchObject({ error: "store_unavailable" });

    const revoke = await app.inject({
      method: "POST",
      url: "/oauth/revoke",
      ...form({ token: body.refresh_token as string }),
    });
    expect(revoke.statusCode).toBe(503);
    expect(revoke.json()).toMatchObject({ error: "temporarily_unavailable" });

    release();
    const refreshed = await refreshNative(app, body.refresh_token as string);
    expect(refreshed.statusCode).toBe(200);
  });

  it("answers a bearer route 503, not 401, when the store cannot even read", async () => {
    const { app, store } = await sqliteApp();
    const { body } = await login(app);
    await store.close();
    const listed = await app.inject({
      method: "GET",
      url: "/sessions",
      headers: bearer(body.access_token as string),
    });
    // A 401 would tell the client its token is bad, and send it to refresh or sign out.
    expect(listed.statusCode).toBe(503);
    expect(listed.headers["www-authenticate"]).toBeUndefined();
    expect(listed.json()).toMatchObject({ error: "store_unavailable" });
  });

  it("makes /healthz answer 503 with a clear body while the lock is held, and ok once released", async () => {
    const { app, path } = await sqliteApp();
    expect((await app.inject({ method: "GET", url: "/healthz" })).statusCode).toBe(200);
    const release = holdWriteLock(path);
    const down = await app.inject({ method: "GET", url: "/healthz" });
    expect(down.statusCode).toBe(503);
    expect(down.headers["retry-after"]).toMatch(/^\d+$/);
    expect(down.json()).toMatchObject({
      status: "unavailable",
      store: "unavailable",
      error: "store_unavailable",
      error_description: expect.stringContaining("cannot commit a write"),
    });
    release();
    expect((await app.inject({ method: "GET", url: "/healthz" })).json()).toEqual({
      status: "ok",
      store: "ok",
    });
  });
});

import { SessionEngine } from "@prolong/core";
import { buildApp, policyOf, publishAheadOf, resolveConfig } from "@prolong/server";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { afterEach } from "vitest";
import { openTestStore, parseStoreKinds, type StoreKind, type TestStore } from "../../../testing/stores.js";

export class FakeClock {
  t = Date.UTC(2026, 0, 1);
  now(): number {
    return this.t;
  }
  advance(seconds: number): void {
    this.t += seconds * 1000;
  }
}

/**
 * The store this run uses: vitest.config.ts makes one project per kind and sets
 * `PROLONG_TEST_STORE` in each, so every server test runs against every store.
 * Memory when the variable is unset (a file run under another configuration).
 */
export const storeKind: StoreKind = parseStoreKinds(process.env.PROLONG_TEST_STORE)[0] ?? "memory";

const opened: TestStore[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()));
});

/** A fresh, empty store of this run's kind, closed (and its files removed) after the test. */
export async function testStore(): Promise<TestStore> {
  const store = await openTestStore(storeKind);
  opened.push(store);
  return store;
}

export const PASSWORD = "correct horse battery";
export const RESOURCE_SECRET = "resource-secret-for-tests";
export const ADMIN_TOKEN = "admin-token-for-tests-only";
export const ISSUER = "https://auth.example.test";

/** An app over this run's store with a hand-moved clock; log lines are kept for inspection. */
export async function testApp(settings: Record<string, unknown> = {}, options: { publicDir?: string } = {}) {
  const clock = new FakeClock();
  const store = await testStore();
  const config = resolveConfig({
    issuer: ISSUER,
    resourceSecret: RESOURCE_SECRET,
    adminToken: ADMIN_TOKEN,
    store: "memory:",
    ...settings,
  });
  // The engine follows the configuration (profiles, clients, clock tolerance) as `prolong serve`'s does.
  const engine = await SessionEngine.create({
    store,
    clock,
    issuer: ISSUER,
    policy: policyOf(config),
    ...(config.clockTolerance === undefined ? {} : { clockTolerance: config.clockTolerance }),
    passwordCost: { N: 1024, r: 8, p: 1 },
    keyPublishAhead: publishAheadOf(config),
  });
  const logs: string[] = [];
  const app = await buildApp({
    engine,
    config,
    publicDir: options.publicDir ?? null,
    logStream: { write: (line) => void logs.push(line) },
  });
  const { subject: user } = await engine.createAccount({
    username: "maryo",
    password: PASSWORD,
    claims: { roles: ["reader"] },
  });
  return { app, engine, clock, store, user, logs, config };
}

export type TestApp = Awaited<ReturnType<typeof testApp>>;

export function form(fields: Record<string, string>) {
  return {
    headers: { "content-type": "application/x-www-form-urlencoded" },
    payload: new URLSearchParams(fields).toString(),
  };
}

export async function login(app: FastifyInstance, extra: Record<string, unknown> = {}) {
  const response = await app.inject({
    method: "POST",
    url: "/login",
    payload: { username: "maryo", password: PASSWORD, ...extra },
  });
  if (response.statusCode !== 200) throw new Error(`login failed: ${response.statusCode} ${response.body}`);
  return { response, body: response.json() as Record<string, string> };
}

/** The refresh cookie a response set, if any. */
export function refreshCookieOf(response: LightMyRequestResponse): string | undefined {
  const header = [response.headers["set-cookie"] ?? []]
    .flat()
    .find((c) => c.startsWith("__Secure-prolong-rt="));
  return header?.split(";")[0]?.slice("__Secure-prolong-rt=".length);
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** A native client's refresh at the token endpoint. */
export function refreshNative(app: FastifyInstance, refreshToken: string) {
  return app.inject({
    method: "POST",
    url: "/oauth/token",
    ...form({ grant_type: "refresh_token", refresh_token: refreshToken, client_id: "native" }),
  });
}

/** The claims of a JWT, read without verifying: tests check what was signed. */
export function claimsOf(token: string): Record<string, number | string> {
  return JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8"));
}

/**
 * Copies of a valid token whose signature decodes to the same bytes: padded, and with the
 * unused low bits of the last character set. `@prolong/verify` refuses both (one spelling
 * per byte string), so the server must too.
 */
export function malleatedCopies(token: string): string[] {
  const [h, p, s] = token.split(".") as [string, string, string];
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const twin = `${s.slice(0, -1)}${alphabet[alphabet.indexOf(s.at(-1) as string) ^ 1]}`;
  if (!Buffer.from(twin, "base64url").equals(Buffer.from(s, "base64url")))
    throw new Error("the signature's last character has no unused bits");
  return [`${h}.${p}.${s}==`, `${h}.${p}.${twin}`];
}

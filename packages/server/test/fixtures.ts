import { buildApp, engineFor, resolveConfig } from "@prolong/server";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { FakeClock, storeKind, testStore } from "../../../testing/suite.js";

export { FakeClock, storeKind, testStore };

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
  const engine = await engineFor(config, store, { clock, passwordCost: { N: 1024, r: 8, p: 1 } });
  const logs: string[] = [];
  const app = await buildApp({
    engine,
    config,
    rateLimitStore: store.limits,
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

/** What a test adds to a request: the peer address inject() reports (127.0.0.1 unless set), headers. */
export interface RequestExtra {
  remoteAddress?: string;
  headers?: Record<string, string>;
}

/** A form-encoded POST to the token endpoint (RFC 6749 §3.2) with these fields. */
export function postToken(app: FastifyInstance, fields: Record<string, string>, extra: RequestExtra = {}) {
  const request = form(fields);
  return app.inject({
    method: "POST",
    url: "/oauth/token",
    remoteAddress: extra.remoteAddress,
    payload: request.payload,
    headers: { ...request.headers, ...extra.headers },
  });
}

/** A native client's refresh at the token endpoint: the refresh token in the body. */
export function refreshNative(app: FastifyInstance, refreshToken: string, extra: RequestExtra = {}) {
  return postToken(
    app,
    { grant_type: "refresh_token", refresh_token: refreshToken, client_id: "native" },
    extra,
  );
}

/**
 * A web client's refresh: the refresh cookie plus the anti-CSRF header (docs/protocol.md,
 * "Web profile: the refresh cookie"). `headers` adds to those two, an Origin for instance.
 */
export function refreshWeb(
  app: FastifyInstance,
  cookie: string,
  extra: RequestExtra & { clientId?: string } = {},
) {
  return postToken(
    app,
    { grant_type: "refresh_token", client_id: extra.clientId ?? "web" },
    {
      remoteAddress: extra.remoteAddress,
      headers: { cookie: `__Secure-prolong-rt=${cookie}`, "prolong-csrf": "1", ...extra.headers },
    },
  );
}

export const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
export const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";

/** An exchange of an access token for a fresh one (RFC 8693 §2.1). */
export function exchangeToken(app: FastifyInstance, subjectToken: string, extra: RequestExtra = {}) {
  const fields = {
    grant_type: TOKEN_EXCHANGE,
    subject_token: subjectToken,
    subject_token_type: ACCESS_TOKEN_TYPE,
  };
  return postToken(app, fields, extra);
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

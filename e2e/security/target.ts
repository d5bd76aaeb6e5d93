import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { StoredKey } from "@prolong/core";
import { openStore } from "@prolong/server";
import { type RunningServer, startServerProcess } from "../server-process.js";

/**
 * The server the attacks of e2e/security are aimed at: a real `prolong serve` process on
 * loopback with the admin API on and a known resource secret, on a SQLite file of its
 * own unless the test names another store. Its store is also open to the test, as an
 * insider's would be: the suite signs tokens with the server's own key, so a forgery is
 * refused for the flaw it carries and not merely for a wrong signature.
 */

export const ADMIN_TOKEN = "admin-token-of-the-security-suite";
export const RESOURCE_SECRET = "resource-secret-of-the-security-suite";
export const AUDIENCE = "prolong";
export const FORM = "application/x-www-form-urlencoded";
export const REFRESH_COOKIE = "__Secure-prolong-rt";
/** The device cookie of an issuer at the root of its origin, as this one is. */
export const DEVICE_COOKIE = "__Host-prolong-device";

export interface Target {
  server: RunningServer;
  /** Where the tests reach it (127.0.0.1). */
  url: string;
  /** Its issuer, `http://localhost:PORT`: the `iss` of its tokens, the origin its pages have. */
  issuer: string;
  /** The `--store` it runs on. */
  store: string;
  /** A call to the admin API. */
  admin(method: string, path: string, body?: unknown): Promise<Response>;
  stop(): Promise<void>;
}

/**
 * Starts `prolong serve` with `config` (merged over the admin token and resource secret)
 * and `env` (`PROLONG_LOG_LEVEL` defaults to warn, as for every e2e server).
 */
export async function startTarget(
  config: Record<string, unknown> = {},
  env: Record<string, string> = {},
): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), "prolong-security-"));
  const store = typeof config.store === "string" ? config.store : `sqlite:${join(dir, "prolong.db")}`;
  const file = join(dir, "config.json");
  writeFileSync(
    file,
    JSON.stringify({ adminToken: ADMIN_TOKEN, resourceSecret: RESOURCE_SECRET, ...config, store }),
  );
  let server: RunningServer;
  try {
    server = await startServerProcess(["--config", file], env);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const url = server.url;
  return {
    server,
    url,
    issuer: url.replace("127.0.0.1", "localhost"),
    store,
    admin: (method, path, body) =>
      fetch(`${url}/admin${path}`, {
        method,
        headers: {
          authorization: `Bearer ${ADMIN_TOKEN}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
    stop: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Creates a built-in account through the admin API; its subject id. */
export async function createAccount(target: Target, username: string, password: string): Promise<string> {
  const response = await target.admin("POST", "/subjects", { username, password });
  if (response.status !== 201)
    throw new Error(`creating ${username}: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { id: string }).id;
}

export interface SignedIn {
  access_token: string;
  /** Native clients only: web ones get the cookie. */
  refresh_token?: string;
  session_id: string;
  /** The refresh cookie's value (web clients). */
  cookie?: string;
  /** Native clients only: the proof of this sign-in to send at the next one. */
  device_token?: string;
  /** The device cookie's value (web clients). */
  deviceCookie?: string;
}

/** POST /login as a program would; fails the test unless it answers 200. */
export async function signIn(
  target: Target,
  fields: {
    username: string;
    password: string;
    client_id?: string;
    device_name?: string;
    device_token?: string;
  },
  headers: Record<string, string> = {},
): Promise<SignedIn> {
  const response = await fetch(`${target.url}/login`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(fields),
  });
  if (response.status !== 200) throw new Error(`sign-in: ${response.status} ${await response.text()}`);
  const cookie = refreshCookieOf(response);
  const device = response.headers.getSetCookie().find((c) => c.startsWith(`${DEVICE_COOKIE}=`));
  const deviceCookie = device?.split(";")[0]?.slice(DEVICE_COOKIE.length + 1);
  return {
    ...((await response.json()) as SignedIn),
    ...(cookie ? { cookie } : {}),
    ...(deviceCookie ? { deviceCookie } : {}),
  };
}

/** The value of the refresh cookie a response sets, if it sets one. */
export function refreshCookieOf(response: Response): string | undefined {
  const header = response.headers.getSetCookie().find((c) => c.startsWith(`${REFRESH_COOKIE}=`));
  return header?.split(";")[0]?.slice(REFRESH_COOKIE.length + 1);
}

/** POST to the token endpoint with a form body. */
export function tokenRequest(
  target: Target,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${target.url}/oauth/token`, {
    method: "POST",
    headers: { "content-type": FORM, ...headers },
    body: new URLSearchParams(fields),
  });
}

/** A native refresh (RFC 6749 §6). */
export function refresh(target: Target, refreshToken: string, clientId = "native"): Promise<Response> {
  return tokenRequest(target, {
    grant_type: "refresh_token",
    refresh_token: refreshToken,
    client_id: clientId,
  });
}

/** The claims of a JWT, read without checking it. */
export function claimsOf(token: string): Record<string, unknown> & { sid: string; sub: string; exp: number } {
  return JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8"));
}

/** What an insider finds in the server's store: its signing keys and its refresh-token MAC secret. */
export interface StoreSecrets {
  keys: StoredKey[];
  /** The key that signs now. */
  active: StoredKey;
  refreshTokenMac: Buffer;
  /** The key device tokens are MACed with. */
  deviceTokenMac: Buffer;
}

/** Reads the server's keys and secrets from its store (which it created when it started). */
export async function readStoreSecrets(target: Target): Promise<StoreSecrets> {
  const store = await openStore(target.store);
  try {
    const keys = await store.keys.listKeys();
    const active = keys.find((k) => k.activatedAt !== null && k.retiredAt === null);
    if (!active) throw new Error("the store has no active key");
    // Claiming returns the secret the server claimed at start; the candidate is never stored.
    const mac = await store.keys.claimSecret("refresh-token-mac", "unused");
    const deviceMac = await store.keys.claimSecret("device-token-mac", "unused");
    return {
      keys,
      active,
      refreshTokenMac: Buffer.from(mac, "base64url"),
      deviceTokenMac: Buffer.from(deviceMac, "base64url"),
    };
  } finally {
    await store.close();
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 50 ms until it returns true, for at most `ms`; whether it did. */
export async function eventually(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= end) return false;
    await sleep(50);
  }
}

export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * One HTTP/1.1 request with exactly the method, headers and body given (fetch adds a
 * content type to a string body and refuses some methods). Times out after 10 s.
 */
export function rawRequest(
  url: string,
  options: { method?: string; path?: string; headers?: Record<string, string>; body?: string | Buffer },
): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      {
        host: hostname,
        port,
        method: options.method ?? "GET",
        path: options.path ?? "/",
        headers: options.headers ?? {},
        timeout: 10_000,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
        response.on("error", reject);
      },
    );
    request.on("timeout", () => request.destroy(new Error("no answer in 10 s")));
    request.on("error", reject);
    request.end(options.body);
  });
}

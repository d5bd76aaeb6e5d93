import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BackendStore } from "../backends.js";
import { type RunningServer, runCli, startServerProcess } from "../server-process.js";

/**
 * What the fault tests share: `prolong serve` processes on one store (any of e2e/backends.ts),
 * reached as their clients and their operator reach them, over HTTP: the token endpoint,
 * the admin API and introspection (RFC 7662). Nothing here reads the store behind the
 * servers' backs.
 */

export const ADMIN_TOKEN = "admin-token-of-the-fault-tests";
export const RESOURCE_SECRET = "resource-secret-of-the-fault-tests";

/** Room for tight refresh loops: the per-session budget is not what these tests are about. */
export const GENEROUS_LIMITS = { refreshPerSession: { max: 1_000_000, windowSeconds: 60 } };

export interface Tokens {
  access_token: string;
  refresh_token: string;
  session_id: string;
  expires_in: number;
}

export interface AdminSession {
  id: string;
  state: "live" | "revoked" | "expired";
  revoked_reason: string | null;
  expires_at: string | null;
}

export interface Deployment {
  /** `--config FILE`, for a server or the CLI. */
  config: string[];
  /** The servers started and not stopped yet. */
  servers: RunningServer[];
  /** Starts one more `prolong serve` on the store; `env` adds to the admin token and resource secret. */
  start(env?: Record<string, string>): Promise<RunningServer>;
  /** Stops every server (a killed one is only waited for), then removes the store and the configuration. */
  close(): Promise<void>;
}

/**
 * Writes a configuration for `store` (plus `settings`), migrates the store, and returns the
 * way to start servers on it. Start none yet: the caller decides how many, and when.
 */
export async function deploy(store: BackendStore, settings: object = {}): Promise<Deployment> {
  const dir = mkdtempSync(join(tmpdir(), "prolong-faults-"));
  const file = join(dir, "config.json");
  writeFileSync(file, JSON.stringify({ store: store.spec, demo: false, ...settings }));
  const config = ["--config", file];
  const servers: RunningServer[] = [];
  const close = async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop()));
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const migrated = await runCli(["migrate", ...config]);
    if (migrated.code !== 0) throw new Error(`prolong migrate failed: ${migrated.stderr}`);
  } catch (error) {
    await close();
    throw error;
  }
  return {
    config,
    servers,
    async start(env = {}) {
      const server = await startServerProcess(config, {
        PROLONG_ADMIN_TOKEN: ADMIN_TOKEN,
        PROLONG_RESOURCE_SECRET: RESOURCE_SECRET,
        ...env,
      });
      servers.push(server);
      const stop = server.stop;
      // Stopped (or killed and reaped) servers leave the list, so close() waits for the others only.
      server.stop = async () => {
        const at = servers.indexOf(server);
        if (at >= 0) servers.splice(at, 1);
        return stop();
      };
      return server;
    },
    close,
  };
}

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

/** `n` native sessions of `subject`, started through the admin API as a backend that signed its user in would. */
export async function startSessions(url: string, subject: string, n: number): Promise<Tokens[]> {
  const sessions: Tokens[] = [];
  for (let i = 0; i < n; i++) {
    const response = await fetch(`${url}/admin/sessions`, {
      method: "POST",
      headers: { ...admin, "content-type": "application/json" },
      body: JSON.stringify({ user_id: subject, client_id: "native", device_name: `device ${i}` }),
    });
    if (response.status !== 200)
      throw new Error(`POST /admin/sessions: ${response.status} ${await response.text()}`);
    sessions.push((await response.json()) as Tokens);
  }
  return sessions;
}

/** RFC 6749 §6 refresh, as a native client sends it. */
export function refresh(url: string, refreshToken: string): Promise<Response> {
  return fetch(`${url}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "refresh_token",
      refresh_token: refreshToken,
      client_id: "native",
    }),
  });
}

/** A refresh that must succeed; its tokens. */
export async function refreshed(url: string, refreshToken: string): Promise<Tokens> {
  const response = await refresh(url, refreshToken);
  if (response.status !== 200)
    throw new Error(`refresh answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as Tokens;
}

/**
 * RFC 7662 introspection as a resource server asks it. A refresh token is active only
 * while it is its session's current one (a rotated token is history, even inside the
 * grace window) and the session is in good standing: so "active" says this token heads
 * the session's one lineage.
 */
export async function isActive(url: string, token: string): Promise<boolean> {
  const response = await fetch(`${url}/oauth/introspect`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: `Basic ${Buffer.from(`resource:${RESOURCE_SECRET}`).toString("base64")}`,
    },
    body: new URLSearchParams({ token }),
  });
  if (response.status !== 200) throw new Error(`introspection answered ${response.status}`);
  return ((await response.json()) as { active: boolean }).active;
}

/** Every session of `subject` the store holds, live or not, as the admin API lists them. */
export async function sessionsOf(url: string, subject: string): Promise<AdminSession[]> {
  const all: AdminSession[] = [];
  let after: string | null = null;
  for (let page = 0; page < 100; page++) {
    const query = new URLSearchParams({ state: "all", limit: "500", ...(after ? { after } : {}) });
    const response = await fetch(`${url}/admin/subjects/${encodeURIComponent(subject)}/sessions?${query}`, {
      headers: admin,
    });
    if (response.status !== 200)
      throw new Error(`admin sessions: ${response.status} ${await response.text()}`);
    const body = (await response.json()) as { sessions: AdminSession[]; next: string | null };
    all.push(...body.sessions);
    after = body.next;
    if (!after) return all;
  }
  throw new Error("admin sessions: more than 100 pages");
}

/** How many security events of `type` the store recorded (`reuse_detected`, `session_revoked`, …). */
export async function eventCount(url: string, type: string): Promise<number> {
  const response = await fetch(`${url}/admin/events?type=${type}&limit=500`, { headers: admin });
  if (response.status !== 200) throw new Error(`admin events: ${response.status}`);
  return ((await response.json()) as { events: unknown[] }).events.length;
}

/**
 * The rotation count a refresh token carries: bytes 16–19, big-endian (the layout in
 * packages/core/src/refresh-token.ts). Opaque to real clients; a test reads it to tell lineages apart.
 */
export function generationOf(refreshToken: string): number {
  return Buffer.from(refreshToken, "base64url").readUInt32BE(16);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

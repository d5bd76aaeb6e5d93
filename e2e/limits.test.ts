import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type RunningServer, runCli, startServerWithConfig } from "./server-process.js";

// Everyone behind one address (an office or carrier NAT): here, everyone on 127.0.0.1.
const ALICE = "alice's own passphrase";
const BOB = "bob's own passphrase";
/** A well-formed refresh token the server never issued. */
const GARBAGE = "A".repeat(91);

let dir = "";
let store = "";
let server: RunningServer | null = null;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "prolong-limits-"));
  store = `sqlite:${join(dir, "prolong.db")}`;
  for (const [name, password] of [
    ["alice", ALICE],
    ["bob", BOB],
  ] as const) {
    const added = await runCli(["users", "add", name, "--password", password, "--store", store]);
    expect(added.code, added.stderr).toBe(0);
  }
});
afterEach(async () => {
  await server?.stop();
  server = null;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function signIn(url: string, username: string, password: string, headers: Record<string, string> = {}) {
  return fetch(`${url}/login`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ username, password, client_id: "native" }),
  });
}

function refresh(url: string, refreshToken: string, headers: Record<string, string> = {}) {
  return fetch(`${url}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams({
      grant_type: "refresh_token",
      refresh_token: refreshToken,
      client_id: "native",
    }),
  });
}

describe("limits stop attackers, not the people who share their address", () => {
  it("after hundreds of garbage refresh tokens and many wrong passwords, valid credentials still work", async () => {
    server = await startServerWithConfig({ store, demo: false });
    const { url } = server;
    const signedIn = await signIn(url, "alice", ALICE);
    expect(signedIn.status).toBe(200);
    const { refresh_token } = await signedIn.json();

    const garbage = new Map<number, number>();
    for (let i = 0; i < 400; i++) {
      const response = await refresh(url, GARBAGE);
      garbage.set(response.status, (garbage.get(response.status) ?? 0) + 1);
      await response.body?.cancel();
    }
    // The address spent its budget: garbage is answered 429 now, valid tokens are not.
    const limited = await refresh(url, GARBAGE);
    expect(limited.status).toBe(429);
    expect((await limited.json()).error).toBe("rate_limited");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(garbage.get(429)).toBeGreaterThan(0);
    const valid = await refresh(url, refresh_token);
    expect(valid.status).toBe(200);

    const wrong: number[] = [];
    for (let i = 0; i < 30; i++) {
      const response = await signIn(url, "alice", `guess number ${i}`);
      wrong.push(response.status);
      await response.body?.cancel();
    }
    expect(wrong.at(-1)).toBe(429);
    const bob = await signIn(url, "bob", BOB);
    expect(bob.status).toBe(200);
  });

  it("behind one proxy, a client cannot escape or misdirect the per-address limit with X-Forwarded-For", async () => {
    server = await startServerWithConfig({
      store,
      demo: false,
      trustProxy: 1,
      rateLimits: { refresh: { max: 5, windowSeconds: 60 } },
    });
    const { url } = server;
    // The proxy (this test) appends the address it saw; the client wrote everything left of it.
    const via = (client: string, forged?: string) => ({
      "x-forwarded-for": forged === undefined ? client : `${forged}, ${client}`,
    });
    const codes: number[] = [];
    for (let i = 0; i < 8; i++) {
      const response = await refresh(url, GARBAGE, via("127.0.0.10", `127.0.9.${i}`));
      codes.push(response.status);
      await response.body?.cancel();
    }
    expect(codes).toEqual([400, 400, 400, 400, 400, 429, 429, 429]);
    // The forged left-most entries named 127.0.9.x: those clients are untouched.
    const victim = await refresh(url, GARBAGE, via("127.0.9.1"));
    expect(victim.status).toBe(400);
  });
});

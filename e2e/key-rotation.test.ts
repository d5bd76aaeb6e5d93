import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createVerifier } from "@prolong/verify";
import { createRemoteJWKSet, customFetch, decodeProtectedHeader, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningServer, runCli, startServerProcess } from "./server-process.js";

// A server whose JWKS may be cached for 1 s, so a next key may sign 6 s after it was
// published (max-age plus 5 s for reloads and clock skew: docs/protocol.md, "Key publication").
const JWKS_MAX_AGE = 1;
const ADMIN_TOKEN = "admin-token-for-the-rotation-e2e";

let dir: string;
let config: string[];
let server: RunningServer;
let userId: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "prolong-rotation-"));
  const file = join(dir, "config.json");
  // The CLI reads the same configuration as the server: same store, same max-age.
  writeFileSync(
    file,
    JSON.stringify({ store: `sqlite:${join(dir, "prolong.db")}`, jwksMaxAge: JWKS_MAX_AGE, demo: false }),
  );
  config = ["--config", file];
  const added = await runCli(["users", "add", "maryo", "--password", "correct horse battery", ...config]);
  expect(added.code, added.stderr).toBe(0);
  userId = /\((\S+)\)/.exec(added.stdout)?.[1] ?? "";
  server = await startServerProcess(config, {
    PROLONG_RESOURCE_SECRET: "resource-secret-for-the-rotation-e2e",
    PROLONG_ADMIN_TOKEN: ADMIN_TOKEN,
  });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A fresh access token for maryo, signed with whatever key the server signs with now. */
async function mint(): Promise<string> {
  const response = await fetch(`${server.url}/admin/sessions`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ user_id: userId, client_id: "native" }),
  });
  expect(response.status, await response.clone().text()).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

const kidOf = (token: string) => decodeProtectedHeader(token).kid;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("key rotation without one 401", () => {
  it("verifiers that fetched the JWKS before `prolong keys rotate` verify the first token after it, without a refetch", async () => {
    const { issuer } = (await (
      await fetch(`${server.url}/.well-known/oauth-authorization-server`)
    ).json()) as {
      issuer: string;
    };
    const jwksUri = `${server.url}/.well-known/jwks.json`;
    // A stock JWKS client with its defaults; the fetch is only counted.
    let stockFetches = 0;
    const stock = createRemoteJWKSet(new URL(jwksUri), {
      [customFetch]: (url, init) => {
        stockFetches += 1;
        return fetch(url, init);
      },
    });
    const verifier = await createVerifier({ issuer, audience: "prolong", jwksUri });

    // Both fetch the key set now, before the rotation.
    const before = await mint();
    await jwtVerify(before, stock, { issuer, audience: "prolong" });
    expect((await verifier.verify(before)).ok).toBe(true);
    expect(stockFetches).toBe(1);
    const verifierFetches = verifier.jwks?.fetches;
    expect(verifierFetches).toBe(1);

    // Rotate with the CLI as soon as the next key has been published for long enough.
    const listed = await runCli(["keys", "list", ...config]);
    expect(listed.stdout).toMatch(/\tnext\t/);
    const possibleAt = Date.parse(/possible from (\S+)/.exec(listed.stdout)?.[1] ?? "");
    const wait = possibleAt - Date.now();
    expect(wait).toBeLessThan((JWKS_MAX_AGE + 5) * 1000 + 1);
    if (wait > 0) await sleep(wait + 50);
    const rotated = await runCli(["keys", "rotate", ...config]);
    expect(rotated.code, rotated.stderr).toBe(0);
    const newKid = /signing key is now (\S+)/.exec(rotated.stdout)?.[1];
    expect(newKid).toBeTruthy();
    expect(newKid).not.toBe(kidOf(before));

    // The server picks the new key up within seconds.
    const rotatedAt = Date.now();
    let after = await mint();
    for (let i = 0; i < 40 && kidOf(after) !== newKid; i++) {
      await sleep(100);
      after = await mint();
    }
    expect(kidOf(after)).toBe(newKid);
    expect(Date.now() - rotatedAt).toBeLessThan(5000);

    // The first token signed with the new key verifies in both, from the key sets they hold.
    const { protectedHeader } = await jwtVerify(after, stock, { issuer, audience: "prolong" });
    expect(protectedHeader.kid).toBe(newKid);
    expect(stockFetches).toBe(1);
    expect(await verifier.verify(after)).toMatchObject({ ok: true });
    expect(verifier.jwks?.fetches).toBe(verifierFetches);
    // Tokens of the retired key keep verifying until they expire.
    expect((await verifier.verify(before)).ok).toBe(true);

    // The new next key was published a moment ago: rotating again now is refused, saying when.
    const early = await runCli(["keys", "rotate", ...config]);
    expect(early.code).toBe(2);
    expect(early.stderr).toContain("rotation is possible from");
    expect(early.stderr).toContain("prolong keys rotate --force");
  }, 40_000);
});

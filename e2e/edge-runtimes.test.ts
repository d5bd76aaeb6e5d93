/**
 * `@prolong/verify` really running in other runtimes, each installed from npm with its
 * binary inside: Deno and Cloudflare's workerd load the Web Crypto backend (as Next.js
 * middleware on the Edge runtime does), Bun loads `node:crypto`. Each runs the very cases
 * of e2e/edge/cases.ts, and must reach the verdicts Node reaches: valid tokens of every
 * algorithm, forgeries, and the Wycheproof JWS vectors.
 */
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { build } from "esbuild";
import type { JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AUDIENCE,
  b64,
  claims,
  ISSUER,
  makeKeys,
  NOW,
  signRaw,
  token,
} from "../packages/verify/test/fixtures.js";
import { freePort } from "../testing/free-port.js";
import { type CaseInput, type CaseOutput, runCases, type TokenCase } from "./edge/cases.js";

const run = promisify(execFile);
const root = fileURLToPath(new URL("..", import.meta.url));
const bin = (name: string) => join(root, "node_modules", ".bin", name);
const casesModule = fileURLToPath(new URL("edge/cases.ts", import.meta.url));

function tokenCases(): { input: CaseInput; expected: Record<string, string> } {
  const keys = makeKeys();
  const other = makeKeys();
  const tokens: TokenCase[] = [];
  const expected: Record<string, string> = {};
  const add = (name: string, value: string, verdict: string) => {
    tokens.push({ name, token: value });
    expected[name] = verdict;
  };
  for (const key of Object.values(keys)) {
    const valid = token(key);
    const [header, , signature] = valid.split(".");
    add(`${key.alg} valid`, valid, "ok");
    add(`${key.alg} past rfa`, token(key, { rfa: NOW - 1 }), "ok renew");
    add(`${key.alg} expired`, token(key, { iat: NOW - 400, exp: NOW - 60, rfa: NOW - 120 }), "expired");
    add(`${key.alg} another audience`, token(key, { aud: "elsewhere" }), "invalid_token");
    add(`${key.alg} another issuer`, token(key, { iss: "https://evil.example" }), "invalid_token");
    add(`${key.alg} typ JWT`, token(key, {}, { typ: "JWT" }), "invalid_token");
    add(`${key.alg} jku header`, token(key, {}, { jku: "https://evil.example/jwks" }), "invalid_token");
    add(
      `${key.alg} claims changed`,
      `${header}.${b64(JSON.stringify(claims({ sub: "admin" })))}.${signature}`,
      "invalid_token",
    );
    // makeKeys' HMAC secret is fixed; the impostor's is another.
    const impostor =
      key.alg === "HS256"
        ? { ...key, privateKey: Buffer.alloc(32, 9) }
        : other[key.alg as keyof typeof other];
    add(`${key.alg} signed by another key of the same kid`, token(impostor), "invalid_token");
    // The unused low bits of the last character set: decodes to the same bytes elsewhere.
    const last = (signature as string).at(-1) as string;
    const twin = String.fromCharCode(last.charCodeAt(0) + 1);
    add(`${key.alg} signature not canonical`, `${valid.slice(0, -1)}${twin}`, "invalid_token");
  }
  const ed = keys.EdDSA;
  add(
    "alg none",
    `${b64(JSON.stringify({ alg: "none", typ: "at+jwt", kid: ed.kid }))}.${b64(JSON.stringify(claims()))}.`,
    "invalid_token",
  );
  // RFC 8725 §2.1: HMAC keyed with the RSA public key, under the RSA key's kid.
  const confused = signRaw(
    { ...keys.HS256, privateKey: Buffer.from(JSON.stringify(keys.RS256.jwk)) },
    JSON.stringify({ alg: "HS256", typ: "at+jwt", kid: keys.RS256.kid }),
    JSON.stringify(claims()),
  );
  add("HS256 under an RSA key's kid", confused, "invalid_token");
  add("unknown kid", token({ ...ed, kid: "nobody" }), "invalid_token");
  add(
    "duplicate claim",
    signRaw(
      ed,
      JSON.stringify({ alg: "EdDSA", typ: "at+jwt", kid: ed.kid }),
      `{"sub":"a",${JSON.stringify(claims()).slice(1)}`,
    ),
    "invalid_token",
  );
  add("oversized", `${token(ed)}${"A".repeat(8192)}`, "invalid_token");

  const vectors = JSON.parse(
    readFileSync(join(root, "packages/verify/test/vectors/wycheproof/json_web_signature_test.json"), "utf8"),
  ) as { testGroups: { public?: JWK; private?: JWK; tests: { tcId: number; jws: unknown }[] }[] };
  const wycheproof = vectors.testGroups.flatMap((group) => {
    const jwk = group.public ?? (group.private?.kty === "oct" ? group.private : null);
    return group.tests
      .filter((test): test is { tcId: number; jws: string } => typeof test.jws === "string")
      .map((test) => ({ tcId: test.tcId, key: jwk ?? null, jws: test.jws }));
  });
  const input: CaseInput = {
    rules: { issuer: ISSUER, audience: AUDIENCE, now: NOW },
    keys: Object.values(keys).map((key) => key.jwk),
    tokens,
    wycheproof,
  };
  return { input, expected };
}

/** One ES module with the cases and their input inside, resolved with `conditions` as that runtime's bundler does. */
async function bundle(
  dir: string,
  name: string,
  conditions: string[],
  tail: string,
  platform: "node" | "neutral",
) {
  const outfile = join(dir, `${name}.mjs`);
  await build({
    stdin: {
      contents: `import { runCases } from ${JSON.stringify(casesModule)};\nimport input from "./input.json";\n${tail}`,
      resolveDir: dir,
      loader: "ts",
    },
    bundle: true,
    format: "esm",
    platform,
    conditions,
    mainFields: ["module", "main"],
    external: ["node:*"],
    nodePaths: [join(root, "node_modules")],
    outfile,
    logLevel: "silent",
  });
  return outfile;
}

const PRINT = "console.log(JSON.stringify(await runCases(input)));";

describe("the verifier in other runtimes", () => {
  let dir: string;
  let input: CaseInput;
  let expected: Record<string, string>;
  let onNode: CaseOutput;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "prolong-edge-"));
    ({ input, expected } = tokenCases());
    writeFileSync(join(dir, "input.json"), JSON.stringify(input));
    onNode = await runCases(input);
  }, 60_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reaches the expected verdicts on Node, synchronously, and accepts valid Wycheproof vectors", () => {
    expect(onNode.verdicts).toEqual(expected);
    expect(onNode.asynchronous).toBe(false);
    expect(onNode.accepted.length).toBeGreaterThanOrEqual(18);
  });

  it("on Deno: the Web Crypto backend, no node: import, the same verdicts", async () => {
    const file = await bundle(dir, "deno", ["deno"], PRINT, "neutral");
    expect(readFileSync(file, "utf8")).not.toMatch(/from\s*["']node:/);
    const { stdout } = await run(bin("deno"), ["run", "--no-prompt", "--no-config", file], {
      env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
      timeout: 60_000,
    });
    const output = JSON.parse(stdout) as CaseOutput;
    expect(output.asynchronous).toBe(true);
    expect(output.verdicts).toEqual(onNode.verdicts);
    expect(output.accepted).toEqual(onNode.accepted);
  }, 90_000);

  it("on Bun: the node:crypto backend Bun resolves, the same verdicts", async () => {
    const file = await bundle(dir, "bun", ["bun"], PRINT, "node");
    const { stdout } = await run(bin("bun"), [file], { timeout: 60_000 });
    const output = JSON.parse(stdout) as CaseOutput;
    expect(output.asynchronous).toBe(false);
    expect(output.verdicts).toEqual(onNode.verdicts);
    expect(output.accepted).toEqual(onNode.accepted);
  }, 90_000);

  it("on workerd (Cloudflare Workers): the Web Crypto backend, no node: import, the same verdicts", async () => {
    const file = await bundle(
      dir,
      "worker",
      ["workerd", "worker", "browser"],
      "export default { async fetch() { return new Response(JSON.stringify(await runCases(input))); } };",
      "neutral",
    );
    expect(readFileSync(file, "utf8")).not.toMatch(/from\s*["']node:/);
    const port = await freePort();
    writeFileSync(
      join(dir, "config.capnp"),
      `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .worker)],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [(name = "worker", esModule = embed "worker.mjs")],
  compatibilityDate = "2025-01-01",
);
`,
    );
    // A process group of its own: the npm bin is a Node launcher that starts the real
    // binary as its child, and the test must stop both.
    const server = spawn(bin("workerd"), ["serve", join(dir, "config.capnp")], {
      stdio: ["ignore", "ignore", "pipe"],
      detached: true,
    });
    const exited = new Promise((resolve) => server.once("exit", resolve));
    let stderr = "";
    server.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    try {
      let output: CaseOutput | null = null;
      for (let attempt = 0; attempt < 100 && output === null; attempt++) {
        try {
          const response = await fetch(`http://127.0.0.1:${port}/`);
          output = (await response.json()) as CaseOutput;
        } catch {
          if (server.exitCode !== null) throw new Error(`workerd exited: ${stderr}`);
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
      expect(output, stderr).not.toBeNull();
      expect(output?.asynchronous).toBe(true);
      expect(output?.verdicts).toEqual(onNode.verdicts);
      expect(output?.accepted).toEqual(onNode.accepted);
    } finally {
      if (server.pid !== undefined && server.exitCode === null) process.kill(-server.pid, "SIGKILL");
      await exited;
    }
  }, 90_000);
});

/**
 * `@prolong/verify` really running in other runtimes, each installed from npm with its
 * binary inside: Deno, Cloudflare's workerd and Next.js middleware on the Edge runtime
 * load the Web Crypto backend, Bun loads `node:crypto`. Each runs the very cases of
 * e2e/edge/cases.ts, and must reach the verdicts Node reaches: valid tokens of every
 * algorithm, forgeries, and the Wycheproof JWS vectors. In the Next.js middleware,
 * `@prolong/ssr` also reads the session of a real prolong server's access cookie.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { build } from "esbuild";
import { calculateJwkThumbprint, type JWK } from "jose";
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
import { ath, makeProof, proofKey } from "../packages/verify/test/proofs.js";
import { freePort } from "../testing/free-port.js";
import { type CaseInput, type CaseOutput, type RequestCase, runCases, type TokenCase } from "./edge/cases.js";
import { type RunningServer, startServerWithConfig } from "./server-process.js";

const run = promisify(execFile);
const root = fileURLToPath(new URL("..", import.meta.url));
const bin = (name: string) => join(root, "node_modules", ".bin", name);
const casesModule = fileURLToPath(new URL("edge/cases.ts", import.meta.url));

/**
 * RFC 9449 §7 through the Fetch-API guard: a bound token with a proof of its key (of each
 * proof algorithm, so each runtime's crypto checks them), and the attacks on it.
 */
async function requestCases(keys: ReturnType<typeof makeKeys>, expected: Record<string, string>) {
  const requests: RequestCase[] = [];
  const url = "https://api.example.test/orders?page=2";
  const add = (name: string, authorization: string, proofs: string[], verdict: string, method = "GET") => {
    requests.push({ name, method, url, authorization, proofs });
    expected[name] = verdict;
  };
  for (const alg of ["ES256", "EdDSA", "RS256", "PS256"] as const) {
    const key = proofKey(alg);
    const bound = token(keys.EdDSA, { cnf: { jkt: await calculateJwkThumbprint(key.jwk, "sha256") } });
    const proof = makeProof(key, "GET", url, NOW, { claims: { ath: ath(bound) } });
    add(`DPoP ${alg} bound token with its proof`, `DPoP ${bound}`, [proof], "ok");
    add(`DPoP ${alg} the same proof again`, `DPoP ${bound}`, [proof], "401 invalid_dpop_proof");
  }
  const key = proofKey("ES256");
  const bound = token(keys.EdDSA, { cnf: { jkt: await calculateJwkThumbprint(key.jwk, "sha256") } });
  const unbound = token(keys.EdDSA);
  const proof = (claims: Record<string, unknown> = {}, signer = key, method = "GET") =>
    makeProof(signer, method, url, NOW, { claims: { ath: ath(bound), ...claims } });
  add("DPoP bound token as bearer", `Bearer ${bound}`, [proof()], "401 invalid_token");
  add("DPoP bound token without a proof", `DPoP ${bound}`, [], "401 invalid_dpop_proof");
  add("DPoP two proofs", `DPoP ${bound}`, [proof(), proof()], "401 invalid_dpop_proof");
  add("DPoP proof of another key", `DPoP ${bound}`, [proof({}, proofKey("ES256"))], "401 invalid_dpop_proof");
  add("DPoP ath of another token", `DPoP ${bound}`, [proof({ ath: ath(unbound) })], "401 invalid_dpop_proof");
  add("DPoP proof for another method", `DPoP ${bound}`, [proof({}, key, "POST")], "401 invalid_dpop_proof");
  add(
    "DPoP proof for another URL",
    `DPoP ${bound}`,
    [proof({ htu: "https://api.example.test/other" })],
    "401 invalid_dpop_proof",
  );
  add("DPoP proof too old", `DPoP ${bound}`, [proof({ iat: NOW - 120 })], "401 invalid_dpop_proof");
  const claimsPart = b64(JSON.stringify({ jti: "n", htm: "GET", htu: url, iat: NOW, ath: ath(bound) }));
  const none = `${b64(JSON.stringify({ typ: "dpop+jwt", alg: "none", jwk: key.jwk }))}.${claimsPart}.`;
  add("DPoP alg none proof", `DPoP ${bound}`, [none], "401 invalid_dpop_proof");
  // HS256 keyed with a secret of its own choosing: whoever forges it also chose the key.
  const hmac = signRaw(
    keys.HS256,
    JSON.stringify({ typ: "dpop+jwt", alg: "HS256", jwk: keys.HS256.jwk }),
    JSON.stringify({ jti: "h", htm: "GET", htu: url, iat: NOW, ath: ath(bound) }),
  );
  add("DPoP HMAC proof", `DPoP ${bound}`, [hmac], "401 invalid_dpop_proof");
  add(
    "DPoP unbound token under the DPoP scheme",
    `DPoP ${unbound}`,
    [proof({ ath: ath(unbound) })],
    "401 invalid_token",
  );
  add("DPoP unbound token as bearer", `Bearer ${unbound}`, [], "ok");
  return requests;
}

async function tokenCases(): Promise<{ input: CaseInput; expected: Record<string, string> }> {
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
    requests: await requestCases(keys, expected),
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
    ({ input, expected } = await tokenCases());
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

  describe("in Next.js 15 middleware on its default runtime, Edge (built and started as in production)", () => {
    const runner = fileURLToPath(new URL("edge/next-runner/", import.meta.url));
    const nextCli = join(root, "node_modules/next/dist/bin/next");
    // Next's telemetry would call out to the network; production, as `next start` expects.
    const env = { ...process.env, NEXT_TELEMETRY_DISABLED: "1", NODE_ENV: "production" };
    let prolong: RunningServer;
    let next: ChildProcess;
    let nextUrl: string;
    let nextOutput = "";

    beforeAll(async () => {
      prolong = await startServerWithConfig({ demo: true, cookies: { access: true } });
      // A build left from an earlier run must not stand in for this one.
      rmSync(join(runner, ".next"), { recursive: true, force: true });
      await run(process.execPath, [nextCli, "build"], { cwd: runner, env, timeout: 300_000 });
      // Its own process group, so the test stops whatever `next start` starts.
      next = spawn(process.execPath, [nextCli, "start", "--hostname", "127.0.0.1", "--port", "0"], {
        cwd: runner,
        // The server's issuer, as its tokens' `iss` name it (its default: localhost).
        env: { ...env, PROLONG_ISSUER: prolong.url.replace("127.0.0.1", "localhost") },
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
      });
      nextUrl = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`next start did not start: ${nextOutput}`)), 60_000);
        const read = (chunk: Buffer) => {
          nextOutput += chunk;
          const local = /Local:\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(nextOutput);
          if (local?.[1] && /Ready in/.test(nextOutput)) {
            clearTimeout(timer);
            resolve(local[1]);
          }
        };
        next.stdout?.on("data", read);
        next.stderr?.on("data", read);
        next.once("exit", (code) => reject(new Error(`next start exited with ${code}: ${nextOutput}`)));
      });
    }, 400_000);

    afterAll(async () => {
      if (next?.pid !== undefined && next.exitCode === null && next.signalCode === null) {
        const exited = new Promise((resolve) => next.once("exit", resolve));
        process.kill(-next.pid, "SIGKILL");
        await exited;
      }
      await prolong?.stop();
    });

    interface RuntimeReport {
      edgeRuntime: string | null;
      nodeVersion: string | null;
      nodeCrypto: boolean;
    }

    function expectEdge(runtime: RuntimeReport) {
      // Next's Edge runtime names itself in `EdgeRuntime`; Node's modules cannot be reached.
      expect(runtime.edgeRuntime).toEqual(expect.any(String));
      expect(runtime.nodeVersion).toBeNull();
      expect(runtime.nodeCrypto).toBe(false);
    }

    it("the middleware bundle holds the Web Crypto backend and no node:crypto", () => {
      const manifest = JSON.parse(
        readFileSync(join(runner, ".next/server/middleware-manifest.json"), "utf8"),
      ) as {
        middleware: Record<string, { files: string[] }>;
      };
      const files = Object.values(manifest.middleware).flatMap((entry) => entry.files);
      expect(files.length).toBeGreaterThan(0);
      const code = files.map((file) => readFileSync(join(runner, ".next", file), "utf8")).join("\n");
      expect(code).toContain("crypto.subtle");
      expect(code).not.toMatch(
        /require\(["'](node:)?crypto["']\)|from\s*["']node:crypto|import\(["']node:crypto/,
      );
      // Nothing else on the Node runtime: the app is the middleware alone.
      const nodeFunctions = join(runner, ".next/server/functions-config-manifest.json");
      if (existsSync(nodeFunctions)) {
        const config = JSON.parse(readFileSync(nodeFunctions, "utf8")) as { functions?: object };
        expect(Object.keys(config.functions ?? {})).not.toContain("/_middleware");
      }
      expect(readdirSync(join(runner, "pages")).filter((name) => !name.startsWith("."))).toEqual([]);
    });

    it("reaches the same verdicts as Node, on Web Crypto, on the Edge runtime", async () => {
      const response = await fetch(`${nextUrl}/cases`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(input),
      });
      expect(response.status, nextOutput).toBe(200);
      const { runtime, output } = (await response.json()) as { runtime: RuntimeReport; output: CaseOutput };
      expectEdge(runtime);
      expect(output.asynchronous).toBe(true);
      expect(output.verdicts).toEqual(expected);
      expect(output.verdicts).toEqual(onNode.verdicts);
      expect(output.accepted).toEqual(onNode.accepted);
    }, 60_000);

    it("@prolong/ssr reads a real prolong server's access cookie there, with its JWKS fetched over loopback", async () => {
      const login = await fetch(`${prolong.url}/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: "demo", password: prolong.demoPassword }),
      });
      expect(login.status).toBe(200);
      const accessCookie = login.headers.getSetCookie().find((line) => line.startsWith("__Host-prolong-at="));
      const token = accessCookie?.slice("__Host-prolong-at=".length).split(";")[0] as string;
      const [header, payload, signature] = token.split(".") as [string, string, string];
      const claims = JSON.parse(Buffer.from(payload, "base64url").toString()) as { sub: string; sid: string };

      const sessionOf = async (cookie: string) => {
        const response = await fetch(`${nextUrl}/session`, { headers: { cookie } });
        expect(response.status, nextOutput).toBe(200);
        return (await response.json()) as {
          runtime: RuntimeReport;
          session: { subject: string; sessionId: string } | null;
        };
      };
      const signedIn = await sessionOf(`theme=dark; __Host-prolong-at=${token}`);
      expectEdge(signedIn.runtime);
      expect(signedIn.session).toMatchObject({ subject: claims.sub, sessionId: claims.sid });
      const forged = `${header}.${b64(JSON.stringify({ ...claims, sub: "admin" }))}.${signature}`;
      expect((await sessionOf(`__Host-prolong-at=${forged}`)).session).toBeNull();
      expect((await sessionOf("theme=dark")).session).toBeNull();
      // The keys came from the server itself, by the middleware's own request.
      const metrics = await (await fetch(`${prolong.url}/metrics`)).text();
      expect(metrics).toMatch(/route="\/\.well-known\/jwks\.json"[^}]*\} [1-9]/);
    }, 60_000);
  });
});

import { request as httpRequest } from "node:http";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ADMIN_TOKEN,
  createAccount,
  FORM,
  REFRESH_COOKIE,
  RESOURCE_SECRET,
  readStoreSecrets,
  type SignedIn,
  signIn,
  startTarget,
  type Target,
} from "./target.js";

/**
 * Every operation of a real server's OpenAPI document, called with random methods, paths,
 * query strings, headers, content types and bodies (fast-check), some with valid
 * credentials so the fuzz reaches past the guards. Whatever comes in: never a 5xx, never a
 * crash, never a secret in an answer (the admin token, the resource secret, the
 * refresh-token MAC secret, private key material, passwords and their hashes, a session's
 * refresh token or handoff code that the fuzz was never given).
 *
 * Runs: PROLONG_FUZZ_RUNS (default 400, a few seconds), or 100 000 with PROLONG_SOAK=1;
 * PROLONG_FUZZ_SEED replays a run that failed (fast-check prints its seed and path).
 */

const SOAK_RUNS = 100_000;
const RUNS = Number(process.env.PROLONG_FUZZ_RUNS ?? (process.env.PROLONG_SOAK === "1" ? SOAK_RUNS : 400));
const SEED = process.env.PROLONG_FUZZ_SEED === undefined ? undefined : Number(process.env.PROLONG_FUZZ_SEED);
/** Bytes of an answer kept for inspection; an answer longer than any of ours is cut there. */
const MAX_ANSWER = 256 * 1024;

const VICTIM_PASSWORD = "the victim's own passphrase";
const FUZZ_PASSWORD = "the fuzzer's own passphrase";
const ALLOWED_ORIGIN = "http://localhost:4321";

interface Operation {
  method: string;
  path: string;
}

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer | null;
  chunked: boolean;
}

interface Answer {
  status: number;
  text: string;
}

/** Sends `request` as it is; null when Node's client refuses to send it (a header it cannot encode). */
function send(url: string, request: FuzzRequest): Promise<Answer | null> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    let outgoing: ReturnType<typeof httpRequest>;
    try {
      outgoing = httpRequest(
        {
          host: hostname,
          port,
          method: request.method,
          path: request.path,
          headers: {
            ...request.headers,
            // Framed one way or the other: Node's client sends a GET's body unframed otherwise.
            ...(request.body
              ? request.chunked
                ? { "transfer-encoding": "chunked" }
                : { "content-length": String(request.body.length) }
              : {}),
          },
          timeout: 10_000,
        },
        (response) => {
          const chunks: Buffer[] = [];
          let size = 0;
          const done = () =>
            resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") });
          // The revocation feed never ends: its first event (the snapshot) is all there is to read.
          const stream = String(response.headers["content-type"]).startsWith("text/event-stream");
          response.on("data", (chunk: Buffer) => {
            chunks.push(chunk);
            size += chunk.length;
            if (stream || size >= MAX_ANSWER) {
              done();
              outgoing.destroy();
            }
          });
          response.on("end", done);
          response.on("error", () => done());
        },
      );
    } catch (error) {
      if (isUnsendable(error)) return resolve(null);
      return reject(error);
    }
    outgoing.on("timeout", () =>
      outgoing.destroy(new Error(`no answer in 10 s: ${request.method} ${request.path}`)),
    );
    outgoing.on("error", (error) => {
      if (isUnsendable(error)) resolve(null);
      else reject(error);
    });
    outgoing.end(request.body ?? undefined);
  });
}

function isUnsendable(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return (
    code === "ERR_INVALID_CHAR" || code === "ERR_INVALID_HTTP_TOKEN" || code === "ERR_UNESCAPED_CHARACTERS"
  );
}

describe("a property-based fuzz of every HTTP endpoint of a real server", () => {
  let target: Target;
  let operations: Operation[] = [];
  let fuzzer: SignedIn & { refresh_token: string };
  let fuzzerWeb: SignedIn;
  /** Strings no answer may contain. */
  let secrets: { name: string; value: string }[] = [];
  let victimSubject = "";
  let victimSession = "";

  beforeAll(async () => {
    target = await startTarget({
      demo: true,
      allowedOrigins: [ALLOWED_ORIGIN],
      // The exchange too, so its grant is reachable.
      profiles: { web: { exchange: true } },
    });
    victimSubject = await createAccount(target, "victim", VICTIM_PASSWORD);
    await createAccount(target, "fuzzer", FUZZ_PASSWORD);
    const victim = (await signIn(target, {
      username: "victim",
      password: VICTIM_PASSWORD,
      client_id: "native",
    })) as SignedIn & {
      refresh_token: string;
    };
    const victimWeb = await signIn(target, {
      username: "victim",
      password: VICTIM_PASSWORD,
      client_id: "web",
    });
    victimSession = victim.session_id;
    const handoff = await target.admin("POST", "/sessions", { user_id: "victim-of-a-handoff" });
    const { handoff_code } = (await handoff.json()) as { handoff_code: string };
    fuzzer = (await signIn(target, {
      username: "fuzzer",
      password: FUZZ_PASSWORD,
      client_id: "native",
    })) as SignedIn & {
      refresh_token: string;
    };
    fuzzerWeb = await signIn(target, { username: "fuzzer", password: FUZZ_PASSWORD, client_id: "web" });

    const stored = await readStoreSecrets(target);
    const hashes = await (async () => {
      const { openStore } = await import("@prolong/server");
      const store = await openStore(target.store);
      try {
        const found = await Promise.all(
          ["victim", "fuzzer"].map((name) => store.accounts.findAccountByName(name)),
        );
        return found.map((account) => account?.passwordHash ?? "");
      } finally {
        await store.close();
      }
    })();
    secrets = [
      { name: "admin token", value: ADMIN_TOKEN },
      { name: "resource secret", value: RESOURCE_SECRET },
      { name: "refresh-token MAC secret", value: stored.refreshTokenMac.toString("base64url") },
      { name: "device-token MAC secret", value: stored.deviceTokenMac.toString("base64url") },
      ...stored.keys.map((key) => ({
        name: `private key ${key.kid}`,
        value: JSON.parse(key.privateKey).d as string,
      })),
      { name: "victim's password", value: VICTIM_PASSWORD },
      ...hashes.map((hash, i) => ({ name: `password hash ${i}`, value: hash })),
      { name: "password hash scheme", value: "scrypt$" },
      { name: "victim's refresh token", value: victim.refresh_token },
      { name: "victim's refresh cookie", value: victimWeb.cookie as string },
      { name: "victim's handoff code", value: handoff_code },
    ];
    for (const { name, value } of secrets) expect(value.length, name).toBeGreaterThan(5);

    const document = (await (await fetch(`${target.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path })),
    );
    expect(operations.length).toBeGreaterThan(30);
  }, 60_000);

  afterAll(() => target?.stop());

  it(`never answers 5xx, never crashes, never leaks a secret (${RUNS} runs)`, {
    timeout: 60_000 + RUNS * 100,
  }, async () => {
    const ids = fc.oneof(
      fc.constantFrom(
        fuzzer.session_id,
        victimSession,
        victimSubject,
        "user-42",
        "demo",
        "..",
        "%2e%2e%2f",
        "%",
        "%00",
        "__proto__",
      ),
      fc.string({ maxLength: 40 }).map(encodeURIComponent),
      fc.string({ unit: "binary", maxLength: 300 }).map(encodeURIComponent),
      fc.integer({ min: 90, max: 4_000 }).map((n) => "a".repeat(n)),
    );
    const operation = fc.oneof(
      { weight: 9, arbitrary: fc.constantFrom(...operations) },
      {
        weight: 1,
        arbitrary: fc.record({
          method: fc.constant("GET"),
          path: fc.constantFrom(
            "/nowhere",
            "/admin",
            "/oauth",
            "//evil.example/",
            "/assets/../package.json",
            "/.well-known/",
          ),
        }),
      },
    );
    const method = (declared: string) =>
      fc.oneof(
        { weight: 6, arbitrary: fc.constant(declared) },
        { weight: 3, arbitrary: fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD") },
        { weight: 1, arbitrary: fc.constantFrom("PROPFIND", "TRACE", "SEARCH", "MKCOL", "QUERY") },
      );
    // Query parameters the routes know, and others; values never a secret (an answer may name a parameter).
    const queryValue = fc.oneof(
      fc.constantFrom(
        "1",
        "0",
        "-1",
        "500",
        "501",
        "1e3",
        "all",
        "live",
        "web",
        "native",
        "reuse_detected",
        "demo",
      ),
      fc.string({ maxLength: 30 }),
    );
    const query = fc.dictionary(
      fc.oneof(
        fc.constantFrom(
          "limit",
          "after",
          "username",
          "type",
          "session",
          "subject",
          "client",
          "state",
          "access_token",
          "idle",
          "next",
          "redirect_uri",
        ),
        fc.string({ maxLength: 8 }),
      ),
      queryValue,
      { maxKeys: 4 },
    );
    const authorization = fc.oneof(
      fc.constant(undefined),
      fc.constantFrom(
        `Bearer ${fuzzer.access_token}`,
        `Bearer ${fuzzerWeb.access_token}`,
        `Bearer ${ADMIN_TOKEN}`,
        `Bearer ${RESOURCE_SECRET}`,
        `Basic ${Buffer.from(`resource:${RESOURCE_SECRET}`).toString("base64")}`,
        `Basic ${Buffer.from("resource:wrong").toString("base64")}`,
        "Basic !!!",
        "Bearer",
        "Bearer a b",
        `bearer ${fuzzer.access_token}`,
        `Bearer ${fuzzer.access_token.slice(0, -3)}AAA`,
      ),
      fc.string({ maxLength: 60 }),
    );
    const contentType = fc.oneof(
      fc.constant(undefined),
      fc.constantFrom(
        FORM,
        `${FORM}; charset=utf-8`,
        "application/json",
        "application/json; charset=utf-16",
        "text/plain",
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded-evil",
        "APPLICATION/JSON",
      ),
      fc.string({ maxLength: 30 }),
    );
    const headers = fc.record(
      {
        authorization,
        "content-type": contentType,
        origin: fc.constantFrom(target.issuer, ALLOWED_ORIGIN, "https://evil.example", "null"),
        "prolong-csrf": fc.constantFrom("1", "0", ""),
        cookie: fc.oneof(
          fc.constantFrom(
            `${REFRESH_COOKIE}=${fuzzerWeb.cookie}`,
            `${REFRESH_COOKIE}=garbage`,
            `${REFRESH_COOKIE}=`,
          ),
          fc.string({ maxLength: 40 }),
        ),
        "x-forwarded-for": fc.constantFrom("10.0.0.1", "::1", "garbage", "1.2.3.4, 5.6.7.8"),
        "access-control-request-method": fc.constantFrom("POST", "DELETE", "PUT"),
        "access-control-request-headers": fc.constantFrom(
          "content-type, authorization, prolong-csrf, dpop",
          "x-evil",
        ),
        "user-agent": fc.string({ maxLength: 80 }),
      },
      { requiredKeys: [] },
    );
    // Body fields the routes know, each with values of its kind. The fuzz knows the fuzzer's
    // password only (claims are echoed back, and a body may become claims), so the victim's
    // is one no answer may hold.
    const text = fc.oneof(fc.string({ maxLength: 20 }), fc.string({ unit: "binary", maxLength: 20 }));
    const field = fc.oneof(
      fc.tuple(
        fc.constantFrom("grant_type"),
        fc.constantFrom(
          "refresh_token",
          "urn:ietf:params:oauth:grant-type:token-exchange",
          "urn:prolong:grant-type:handoff",
          "password",
          "client_credentials",
        ),
      ),
      fc.tuple(fc.constantFrom("client_id"), fc.constantFrom("web", "native", "resource", "nope", "")),
      fc.tuple(
        fc.constantFrom("refresh_token", "token", "subject_token"),
        fc.constantFrom(fuzzer.refresh_token, fuzzer.access_token, fuzzerWeb.access_token, "garbage", ""),
      ),
      fc.tuple(
        fc.constantFrom("subject_token_type", "requested_token_type", "token_type_hint"),
        fc.constantFrom(
          "urn:ietf:params:oauth:token-type:access_token",
          "refresh_token",
          "access_token",
          "x",
        ),
      ),
      fc.tuple(
        fc.constantFrom("password", "current_password", "new_password"),
        fc.oneof(fc.constant(FUZZ_PASSWORD), text),
      ),
      fc.tuple(
        fc.constantFrom(
          "username",
          "user_id",
          "device_name",
          "code",
          "force",
          "everywhere",
          "claims",
          "__proto__",
          "constructor",
        ),
        text,
      ),
      fc.tuple(fc.string({ maxLength: 10 }), text),
    );
    const jsonValue = fc.oneof(
      fc.constant(null),
      fc.boolean(),
      fc.integer(),
      fc.double(),
      text,
      fc.constant({ prototype: { polluted: true } }),
    );
    const body = fc.oneof(
      fc.constant(null),
      fc.array(field, { maxLength: 6 }).map((pairs) => Buffer.from(new URLSearchParams(pairs).toString())),
      fc
        .array(fc.tuple(field, jsonValue), { maxLength: 6 })
        .map((pairs) =>
          Buffer.from(JSON.stringify(Object.fromEntries(pairs.map(([[k, v], j]) => [k, j ?? v])))),
        ),
      fc.uint8Array({ maxLength: 600 }).map((bytes) => Buffer.from(bytes)),
      fc.constantFrom(
        Buffer.from(`${"[".repeat(5_000)}${"]".repeat(5_000)}`),
        Buffer.from(`${'{"a":'.repeat(3_000)}1${"}".repeat(3_000)}`),
        Buffer.from('{"__proto__":{"admin":true}}'),
        Buffer.from('{"claims":{"constructor":{"prototype":{"admin":true}}}}'),
        Buffer.alloc(20_000, 0x61),
        Buffer.from(""),
      ),
    );
    const request = operation.chain((op) =>
      fc.record({
        method: method(op.method),
        path: fc.tuple(fc.constant(op.path), ids, query).map(([path, id, q]) => {
          const search = new URLSearchParams(q).toString();
          return `${path.replaceAll(/\{[a-z]+\}/g, id)}${search ? `?${search}` : ""}`;
        }),
        headers: headers.map(
          (h) =>
            Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined)) as Record<
              string,
              string
            >,
        ),
        body,
        chunked: fc.boolean(),
      }),
    );

    let sent = 0;
    await fc.assert(
      fc.asyncProperty(request, async (req) => {
        const answer = await send(target.url, req);
        if (answer === null) return; // Node's client would not send it; neither would a browser.
        sent += 1;
        expect(answer.status, `${req.method} ${req.path}: ${answer.text.slice(0, 300)}`).toBeLessThan(500);
        for (const { name, value } of secrets) {
          if (answer.text.includes(value)) throw new Error(`${req.method} ${req.path} answered the ${name}`);
        }
        // Private key material of a key created during the fuzz (a rotation), by its shape.
        expect(answer.text).not.toMatch(/"d"\s*:\s*"[A-Za-z0-9_-]{40,}"/);
      }),
      { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }) },
    );
    expect(sent).toBeGreaterThan(RUNS / 2);

    // Still alive and ready, and nothing of ours failed along the way (5xx are logged as errors).
    expect(target.server.child.exitCode).toBeNull();
    expect((await fetch(`${target.url}/healthz`)).status).toBe(200);
    const errors = target.server
      .stdout()
      .split("\n")
      .filter((line) => /"level":(50|60)/.test(line));
    expect(errors).toEqual([]);
  });
});

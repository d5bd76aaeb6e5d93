import { createProlong, type Prolong, type ProlongSettings } from "@prolong/server";
import Fastify, { type FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { claimsOf, FakeClock, form, PASSWORD, refreshCookieOf, testStore } from "./fixtures.js";

const HOST = "https://app.example.test";
const ISSUER = `${HOST}/auth`;
const CHEAP_PASSWORDS = { passwordCost: { N: 1024, r: 8, p: 1 } };

const built: Prolong[] = [];
const hosts: FastifyInstance[] = [];

afterEach(async () => {
  await Promise.all(hosts.splice(0).map((host) => host.close()));
  await Promise.all(built.splice(0).map((prolong) => prolong.close()));
});

/** prolong over this run's store, closed after the test. */
async function prolongWith(settings: ProlongSettings, clock = new FakeClock()) {
  const prolong = await createProlong(settings, {
    store: await testStore(),
    engine: { clock, ...CHEAP_PASSWORDS },
    logStream: { write: () => {} },
  });
  built.push(prolong);
  return prolong;
}

/**
 * A host application with routes of its own and prolong under `/auth`: a page, a form
 * endpoint, a route that fails, and its own login, which authenticates the user itself
 * and then starts a prolong session on its own reply.
 */
async function hostApp(settings: ProlongSettings = {}) {
  const prolong = await prolongWith({ issuer: ISSUER, allowedOrigins: [HOST], ...settings });
  const app = Fastify();
  hosts.push(app);
  app.get("/hello", async (_request, reply) => reply.type("text/plain").send("hello from the host"));
  app.post("/notes", async (request) => ({ received: request.body }));
  app.get("/broken", async () => {
    throw new Error("the host's own failure");
  });
  app.post<{ Body: { user: string; client?: string } }>("/my-login", async (request, reply) => {
    // The host's own session cookie, which prolong's must not replace.
    reply.header("set-cookie", "host-session=1; Path=/; HttpOnly");
    return prolong.startSession(reply, {
      subject: request.body.user,
      deviceName: "Maryo's laptop",
      ...(request.body.client ? { client: request.body.client } : {}),
    });
  });
  await app.register(prolong.fastifyPlugin, { prefix: "/auth" });
  await app.ready();
  return { app, prolong };
}

function cookiesOf(response: { headers: Record<string, unknown> }): string[] {
  return [response.headers["set-cookie"] ?? []].flat() as string[];
}

describe("createProlong: one validated configuration", () => {
  it("gives tokens the configured lifetime (10 s here, never the 300 s default)", async () => {
    const prolong = await prolongWith({ issuer: ISSUER, profiles: { native: { accessTokenTtl: 10 } } });
    const app = Fastify();
    hosts.push(app);
    app.post("/login", async (_request, reply) =>
      prolong.startSession(reply, { subject: "user-42", client: "native" }),
    );
    const body = (await app.inject({ method: "POST", url: "/login" })).json();
    expect(body.expires_in).toBe(10);
    const claims = claimsOf(body.access_token);
    expect(Number(claims.exp) - Number(claims.iat)).toBe(10);
    expect(prolong.config.profiles.native?.accessTokenTtl).toBe(10);
  });

  it("refuses an unknown setting, naming it", async () => {
    await expect(createProlong({ issuer: ISSUER, accessTokenTtl: 10 } as ProlongSettings)).rejects.toThrow(
      /accessTokenTtl: unknown setting; did you mean profiles\.<name>\.accessTokenTtl/,
    );
    await expect(createProlong({ issuer: ISSUER, jwksMaxAge: 0 })).rejects.toThrow(/^jwksMaxAge: /);
  });

  it("refuses a store given both as a setting and as a Store", async () => {
    const store = await testStore();
    await expect(createProlong({ issuer: ISSUER, store: "memory:" }, { store })).rejects.toThrow(
      "store: given as a setting and as a Store; give one of them",
    );
  });

  it("builds the engine from the configuration: audience, algorithm, policy", async () => {
    const prolong = await prolongWith({
      issuer: ISSUER,
      audience: "my-api",
      alg: "ES256",
      clients: { ios: { profile: "native" } },
    });
    const tokens = await prolong.engine.startSessionForSubject({ subjectId: "user-42", clientId: "ios" });
    expect(claimsOf(tokens.accessToken)).toMatchObject({ aud: "my-api", iss: ISSUER, client_id: "ios" });
    expect(prolong.engine.keys.jwks().keys[0]?.alg).toBe("ES256");
  });
});

describe("the Fastify plugin in a host application", () => {
  it("serves prolong's routes under the prefix, with the metadata, the cookie path and CORS following it", async () => {
    const { app, prolong } = await hostApp();
    const metadata = await app.inject({ method: "GET", url: "/auth/.well-known/oauth-authorization-server" });
    expect(metadata.json()).toMatchObject({
      issuer: ISSUER,
      token_endpoint: `${ISSUER}/oauth/token`,
      jwks_uri: `${ISSUER}/.well-known/jwks.json`,
      login_endpoint: `${ISSUER}/login`,
    });

    await prolong.engine.createAccount({ username: "maryo", password: PASSWORD });
    const login = await app.inject({
      method: "POST",
      url: "/auth/login",
      payload: { username: "maryo", password: PASSWORD },
    });
    expect(login.statusCode).toBe(200);
    expect(cookiesOf(login)[0]).toMatch(/; Path=\/auth\/oauth; /);

    const preflight = await app.inject({
      method: "OPTIONS",
      url: "/auth/oauth/token",
      headers: { origin: HOST, "access-control-request-method": "POST" },
    });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers["access-control-allow-origin"]).toBe(HOST);

    const refreshed = await app.inject({
      method: "POST",
      url: "/auth/oauth/token",
      ...form({ grant_type: "refresh_token", client_id: "web" }),
      headers: {
        ...form({}).headers,
        cookie: `__Secure-prolong-rt=${refreshCookieOf(login)}`,
        "prolong-csrf": "1",
        origin: HOST,
      },
    });
    expect(refreshed.statusCode).toBe(200);
    expect(refreshed.headers["access-control-allow-origin"]).toBe(HOST);
    expect(cookiesOf(refreshed)[0]).toMatch(/; Path=\/auth\/oauth; /);

    // prolong's own answers under its prefix: its 404 and its 415.
    const missing = await app.inject({ method: "GET", url: "/auth/nowhere" });
    expect(missing.json()).toEqual({ error: "not_found", error_description: "no route GET /auth/nowhere" });
    const wrongType = await app.inject({
      method: "POST",
      url: "/auth/login",
      headers: { "content-type": "text/plain" },
      payload: "hello",
    });
    expect(wrongType.statusCode).toBe(415);
    expect(wrongType.json().error).toBe("unsupported_media_type");
  });

  it("leaves the host's own routes alone: its 404, its errors, its content types, no CORS, no metrics", async () => {
    const { app } = await hostApp();
    const hello = await app.inject({ method: "GET", url: "/hello", headers: { origin: HOST } });
    expect(hello.body).toBe("hello from the host");
    expect(hello.headers["access-control-allow-origin"]).toBeUndefined();
    expect(hello.headers.vary).toBeUndefined();

    // Fastify's own 404 and error shapes, not prolong's.
    const missing = await app.inject({ method: "GET", url: "/nowhere" });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ statusCode: 404, error: "Not Found" });
    const broken = await app.inject({ method: "GET", url: "/broken" });
    expect(broken.json()).toMatchObject({ statusCode: 500, message: "the host's own failure" });

    // The host's parsers: JSON as Fastify parses it, and no form parser (prolong's is its own).
    const json = await app.inject({ method: "POST", url: "/notes", payload: { text: "hi" } });
    expect(json.json()).toEqual({ received: { text: "hi" } });
    const formPost = await app.inject({ method: "POST", url: "/notes", ...form({ text: "hi" }) });
    expect(formPost.statusCode).toBe(415);
    expect(formPost.json()).toMatchObject({ statusCode: 415, code: "FST_ERR_CTP_INVALID_MEDIA_TYPE" });
    // The host's body limit (1 MiB by default), not prolong's 16 KiB.
    const big = await app.inject({ method: "POST", url: "/notes", payload: { text: "x".repeat(20_000) } });
    expect(big.statusCode).toBe(200);
    const bigLogin = await app.inject({
      method: "POST",
      url: "/auth/login",
      payload: { username: "x".repeat(20_000) },
    });
    expect(bigLogin.statusCode).toBe(413);

    const metrics = await app.inject({ method: "GET", url: "/auth/metrics" });
    expect(metrics.body).toContain('route="/auth/login"');
    expect(metrics.body).not.toContain('route="/hello"');
  });

  it("starts a web session on the host's reply: the cookie on the issuer's path, no refresh token in the body", async () => {
    const { app } = await hostApp();
    const signedIn = await app.inject({ method: "POST", url: "/my-login", payload: { user: "user-42" } });
    expect(signedIn.statusCode).toBe(200);
    expect(signedIn.headers["cache-control"]).toBe("private, no-store");
    const body = signedIn.json();
    expect(body.refresh_token).toBeUndefined();
    expect(claimsOf(body.access_token).sub).toBe("user-42");
    const cookies = cookiesOf(signedIn);
    expect(cookies).toContain("host-session=1; Path=/; HttpOnly");
    expect(cookies.find((c) => c.startsWith("__Secure-prolong-rt="))).toMatch(
      /^__Secure-prolong-rt=[A-Za-z0-9_-]{91}; Path=\/auth\/oauth; Max-Age=\d+; HttpOnly; Secure; SameSite=Strict$/,
    );

    // The cookie then refreshes at prolong's token endpoint under the prefix.
    const refreshed = await app.inject({
      method: "POST",
      url: "/auth/oauth/token",
      payload: "grant_type=refresh_token&client_id=web",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        cookie: `__Secure-prolong-rt=${refreshCookieOf(signedIn)}`,
        "prolong-csrf": "1",
      },
    });
    expect(refreshed.statusCode).toBe(200);
    expect(claimsOf(refreshed.json().access_token).sub).toBe("user-42");
  });

  it("starts a native session on the host's reply: both tokens in the body, no cookie", async () => {
    const { app } = await hostApp();
    const signedIn = await app.inject({
      method: "POST",
      url: "/my-login",
      payload: { user: "user-42", client: "native" },
    });
    expect(signedIn.json()).toMatchObject({ token_type: "Bearer", refresh_token: expect.any(String) });
    expect(cookiesOf(signedIn)).toEqual(["host-session=1; Path=/; HttpOnly"]);
    const refreshed = await app.inject({
      method: "POST",
      url: "/auth/oauth/token",
      ...form({
        grant_type: "refresh_token",
        client_id: "native",
        refresh_token: signedIn.json().refresh_token,
      }),
    });
    expect(refreshed.statusCode).toBe(200);
  });

  it("refuses to be registered anywhere but the issuer's path, or with a trustProxy only the host can apply", async () => {
    const prolong = await prolongWith({ issuer: ISSUER });
    const elsewhere = Fastify();
    hosts.push(elsewhere);
    await expect(elsewhere.register(prolong.fastifyPlugin, { prefix: "/login" })).rejects.toThrow(
      /registered at "\/login" but its issuer https:\/\/app\.example\.test\/auth has the path "\/auth"/,
    );
    const proxied = await prolongWith({ issuer: ISSUER, trustProxy: 1 });
    const host = Fastify();
    hosts.push(host);
    await expect(host.register(proxied.fastifyPlugin, { prefix: "/auth" })).rejects.toThrow(/^trustProxy: /);
  });

  it("mounts at the root for an issuer without a path", async () => {
    const prolong = await prolongWith({ issuer: HOST });
    const app = Fastify();
    hosts.push(app);
    await app.register(prolong.fastifyPlugin);
    const metadata = await app.inject({ method: "GET", url: "/.well-known/oauth-authorization-server" });
    expect(metadata.json().token_endpoint).toBe(`${HOST}/oauth/token`);
  });
});

describe("the standalone server behind a proxy that serves it under a path", () => {
  it("sets the cookie on the issuer's path", async () => {
    const prolong = await prolongWith({ issuer: ISSUER });
    const server = await prolong.buildServer();
    hosts.push(server);
    await prolong.engine.createAccount({ username: "maryo", password: PASSWORD });
    const login = await server.inject({
      method: "POST",
      url: "/login",
      payload: { username: "maryo", password: PASSWORD },
    });
    expect(cookiesOf(login)[0]).toMatch(/; Path=\/auth\/oauth; /);
  });
});

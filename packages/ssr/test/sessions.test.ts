import { generateKeyPairSync, sign } from "node:crypto";
import { createProlong, type Prolong } from "@prolong/server";
import { cookieHeaderAfter, createServerSessions, type ServerSessionsOptions } from "@prolong/ssr";
import { createVerifier } from "@prolong/verify";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import { FakeClock } from "../../../testing/suite.js";

const ISSUER = "https://app.example.test/auth";
const TTL = 60;
const RESOURCE_SECRET = "resource-secret-of-this-test";

const opened: Prolong[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((prolong) => prolong.close()));
});

/**
 * A real prolong with the access cookie on, in this process and on a hand-moved clock,
 * the server-side sessions over it, and a count of what reached its token endpoint.
 */
async function setUp(extra: Partial<ServerSessionsOptions> = {}, web: Record<string, unknown> = {}) {
  const clock = new FakeClock();
  const prolong = await createProlong(
    {
      issuer: ISSUER,
      store: "memory:",
      cookies: { access: true },
      resourceSecret: RESOURCE_SECRET,
      profiles: { web: { accessTokenTtl: TTL, refreshAfterRatio: 0.5, graceWindow: 30, ...web } },
    },
    { engine: { clock, passwordCost: { N: 1024, r: 8, p: 1 } } },
  );
  opened.push(prolong);
  const seen = { token: 0, revocation: 0 };
  let down = false;
  const send = async (request: Request) => {
    const path = new URL(request.url).pathname;
    if (path.endsWith("/oauth/token")) seen.token++;
    if (path.endsWith("/oauth/revoke")) seen.revocation++;
    if (down) return new Response("upstream unavailable", { status: 503 });
    return prolong.fetch(request);
  };
  const sessions = createServerSessions({ issuer: ISSUER, fetch: send, now: () => clock.now(), ...extra });
  /** The browser's cookie jar after a sign-in by the host's own login. */
  async function signIn(subject = "user-1") {
    const { headers } = await prolong.startFetchSession(new Request(`${ISSUER}/login`), { subject });
    return cookieHeaderAfter("theme=dark", headers.getSetCookie());
  }
  const page = (cookie: string) => new Request("https://app.example.test/account", { headers: { cookie } });
  const setDown = (value: boolean) => {
    down = value;
  };
  return { prolong, clock, sessions, seen, signIn, page, setDown };
}

const cookieIn = (header: string, name: string) =>
  header
    .split("; ")
    .find((pair) => pair.startsWith(`${name}=`))
    ?.slice(name.length + 1);

describe("the session on the server", () => {
  it("reads the verified access cookie from a request, headers, a Cookie string or a cookies object", async () => {
    const { sessions, signIn, page } = await setUp();
    const jar = await signIn("user-7");
    const token = cookieIn(jar, "__Host-prolong-at") as string;
    const sources = [
      page(jar),
      page(jar).headers,
      jar,
      { get: (name: string) => cookieIn(jar, name) },
      { get: (name: string) => ({ value: cookieIn(jar, name) as string }) },
    ];
    for (const source of sources) {
      const session = await sessions.getSession(source);
      expect(session).toMatchObject({ subject: "user-7", accessToken: token });
      expect(session?.sessionId).toBe(session?.claims.sid);
      expect(session?.expiresAt).toBe((session?.claims.exp as number) * 1000);
    }
    expect(await sessions.getSession(page("theme=dark"))).toBeNull();
    expect(await sessions.getSession(undefined)).toBeNull();
  });

  it("refuses a forged or expired access cookie", async () => {
    const { sessions, signIn, clock } = await setUp();
    const jar = await signIn();
    const token = cookieIn(jar, "__Host-prolong-at") as string;
    const [h, p, s] = token.split(".") as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, "base64url").toString());
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: "admin" })).toString("base64url")}.${s}`;
    expect(await sessions.getSession(`__Host-prolong-at=${forged}`)).toBeNull();
    expect(await sessions.getSession(jar)).not.toBeNull();
    clock.advance(TTL + 6);
    expect(await sessions.getSession(jar)).toBeNull();
  });
});

describe("renewal before a render", () => {
  it("leaves a fresh token alone, without a call to prolong", async () => {
    const { sessions, signIn, page, seen } = await setUp();
    const jar = await signIn();
    const renewal = await sessions.renew(page(jar));
    expect(renewal).toMatchObject({ setCookies: [], requestCookie: null });
    expect(renewal.session?.subject).toBe("user-1");
    expect(seen.token).toBe(0);
  });

  it("renews past rfa: both cookies for the browser, the new token for this render", async () => {
    const { sessions, signIn, page, seen, clock } = await setUp();
    const jar = await signIn();
    clock.advance(TTL / 2 + 1);
    const renewal = await sessions.renew(page(jar));
    expect(seen.token).toBe(1);
    const names = renewal.setCookies.map((line) => line.slice(0, line.indexOf("="))).sort();
    expect(names).toEqual(["__Host-prolong-at", "__Host-prolong-rt"]);
    const cookie = renewal.requestCookie as string;
    expect(cookieIn(cookie, "theme")).toBe("dark");
    expect(cookieIn(cookie, "__Host-prolong-at")).toBe(renewal.session?.accessToken);
    expect(cookieIn(cookie, "__Host-prolong-at")).not.toBe(cookieIn(jar, "__Host-prolong-at"));
    expect(cookieIn(cookie, "__Host-prolong-rt")).not.toBe(cookieIn(jar, "__Host-prolong-rt"));
    expect(await sessions.getSession(cookie)).toMatchObject({ subject: "user-1" });
  });

  it("renews with the refresh cookie alone when the access cookie is gone (it expired in the browser)", async () => {
    const { sessions, signIn, page, clock } = await setUp();
    const jar = await signIn();
    clock.advance(TTL + 10);
    const refreshOnly = `__Host-prolong-rt=${cookieIn(jar, "__Host-prolong-rt")}`;
    const renewal = await sessions.renew(page(refreshOnly));
    expect(renewal.session?.subject).toBe("user-1");
    expect(renewal.setCookies).toHaveLength(2);
  });

  it("never renews in front of prolong's own routes, which rotate the cookie themselves", async () => {
    const { sessions, signIn, seen, clock } = await setUp();
    const jar = await signIn();
    clock.advance(TTL / 2 + 1);
    for (const path of ["/auth/oauth/token", "/auth", "/auth/sessions"]) {
      const renewal = await sessions.renew(
        new Request(`https://app.example.test${path}`, { headers: { cookie: jar } }),
      );
      expect(renewal).toMatchObject({ setCookies: [], requestCookie: null });
    }
    expect(seen.token).toBe(0);
    // A path that only starts with the same letters is the app's.
    await sessions.renew(new Request("https://app.example.test/authors", { headers: { cookie: jar } }));
    expect(seen.token).toBe(1);
    expect(sessions.issuer).toBe(ISSUER);
  });

  it("renews a burst of parallel requests with one cookie once", async () => {
    const { sessions, signIn, page, seen, clock } = await setUp();
    const jar = await signIn();
    clock.advance(TTL / 2 + 1);
    const renewals = await Promise.all(Array.from({ length: 12 }, () => sessions.renew(page(jar))));
    expect(seen.token).toBe(1);
    expect(new Set(renewals.map((r) => r.session?.accessToken)).size).toBe(1);
  });

  it("never signs out for a failure of prolong's: the cookies stay and so does the old token while it lasts", async () => {
    const { sessions, signIn, page, clock, setDown } = await setUp();
    const jar = await signIn();
    // The keys were fetched before prolong went down, as on any server that has served a page.
    expect(await sessions.getSession(jar)).not.toBeNull();
    clock.advance(TTL / 2 + 1);
    setDown(true);
    const during = await sessions.renew(page(jar));
    expect(during).toMatchObject({ setCookies: [], requestCookie: null, unavailable: true });
    expect(during.session?.subject).toBe("user-1");
    // Past exp as well: no session to render, but nothing cleared, and said so.
    clock.advance(TTL);
    expect(await sessions.renew(page(jar))).toEqual({
      session: null,
      setCookies: [],
      requestCookie: null,
      unavailable: true,
    });
    setDown(false);
    const after = await sessions.renew(page(jar));
    expect(after.setCookies).toHaveLength(2);
    expect(after.session?.subject).toBe("user-1");
  });

  it("takes a straggler's answer (the previous cookie, inside the grace window) without ending the session", async () => {
    const { sessions, signIn, page, clock } = await setUp();
    const jar = await signIn();
    clock.advance(TTL / 2 + 1);
    const first = await sessions.renew(page(jar));
    const next = first.requestCookie as string;
    clock.advance(TTL / 2 + 1);
    expect((await sessions.renew(page(next))).setCookies).toHaveLength(2);
    clock.advance(5);
    // The old jar again, after its successor's successor exists: an access token, no refresh cookie.
    const late = await sessions.renew(page(jar));
    expect(late.session?.subject).toBe("user-1");
    expect(late.setCookies.map((line) => line.slice(0, line.indexOf("=")))).toEqual(["__Host-prolong-at"]);
  });

  it("ends the session in the browser when prolong says the grant is dead, and only then", async () => {
    const { sessions, signIn, page, clock, prolong } = await setUp();
    const jar = await signIn();
    const session = await sessions.getSession(jar);
    await prolong.engine.logout(session?.sessionId as string);
    clock.advance(TTL + 10);
    const renewal = await sessions.renew(page(jar));
    expect(renewal.session).toBeNull();
    expect(renewal.setCookies.every((line) => /Max-Age=0;/.test(line))).toBe(true);
    expect(renewal.setCookies).toHaveLength(2);
    expect(renewal.requestCookie).toBe("theme=dark");
  });
});

describe("renewal of a session bound to the browser's key (DBSC)", () => {
  /** A DBSC proof as a browser makes one at registration: ES256, its public key in the header. */
  function registrationProof(challenge: string): string {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const jwk = publicKey.export({ format: "jwk" });
    const input = `${part({ alg: "ES256", typ: "dbsc+jwt", jwk })}.${part({ jti: challenge })}`;
    const signature = sign("sha256", Buffer.from(input), { key: privateKey, dsaEncoding: "ieee-p1363" });
    return `${input}.${signature.toString("base64url")}`;
  }

  it("forwards the browser's bound cookie with the refresh cookie; without it, keeps the session and its cookies", async () => {
    const { sessions, prolong, page, clock } = await setUp({}, { dbsc: { enabled: true } });
    const { headers } = await prolong.startFetchSession(new Request(`${ISSUER}/login`), {
      subject: "user-1",
    });
    const registration = headers.get("secure-session-registration") ?? "";
    expect(registration).toMatch(/^\(ES256\);path="\/auth\/dbsc\/register";challenge="[^"]+"$/);
    const challenge = /challenge="([^"]+)"/.exec(registration)?.[1] as string;
    const registered = await prolong.fetch(
      new Request(`${ISSUER}/dbsc/register`, {
        method: "POST",
        headers: { "secure-session-response": registrationProof(challenge) },
      }),
    );
    expect(registered.status).toBe(200);
    const jar = cookieHeaderAfter(
      cookieHeaderAfter("theme=dark", headers.getSetCookie()),
      registered.headers.getSetCookie(),
    );
    expect(cookieIn(jar, "__Host-prolong-dbsc")).toBeDefined();
    clock.advance(TTL / 2 + 1);
    const unbound = jar
      .split("; ")
      .filter((pair) => !pair.startsWith("__Host-prolong-dbsc="))
      .join("; ");
    expect(await sessions.renew(page(unbound))).toMatchObject({ setCookies: [], unavailable: true });
    const renewal = await sessions.renew(page(jar));
    expect(renewal.unavailable).toBe(false);
    expect(renewal.setCookies).toHaveLength(2);
    expect(renewal.session?.subject).toBe("user-1");
  });
});

describe("sign-out", () => {
  it("revokes at prolong and clears both cookies; unreachable, it still clears them", async () => {
    const { sessions, signIn, page, seen, clock, setDown } = await setUp();
    const jar = await signIn();
    const out = await sessions.signOut(page(jar));
    expect(seen.revocation).toBe(1);
    expect(out.setCookies.map((line) => line.split(";")[0]).sort()).toEqual([
      "__Host-prolong-at=",
      "__Host-prolong-rt=",
    ]);
    clock.advance(TTL / 2 + 1);
    expect((await sessions.renew(page(jar))).session).toBeNull();

    const other = await signIn("user-2");
    setDown(true);
    const offline = await sessions.signOut(page(other));
    expect(offline.setCookies.every((line) => /Max-Age=0;/.test(line))).toBe(true);
  });
});

describe("the revocation feed", () => {
  it("refuses a session revoked elsewhere at once, its access token still valid, and ends with close()", async () => {
    const { sessions, signIn, prolong } = await setUp({ revocationFeed: { secret: RESOURCE_SECRET } });
    const jar = await signIn();
    const session = await sessions.getSession(jar);
    expect(session?.subject).toBe("user-1");
    await prolong.engine.logout(session?.sessionId as string);
    let refused = false;
    for (let i = 0; i < 100 && !refused; i++) {
      refused = (await sessions.getSession(jar)) === null;
      if (!refused) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(refused).toBe(true);
    await sessions.close();
  });

  it("is not subscribed without it: the same revocation waits for the token's expiry", async () => {
    const { sessions, signIn, prolong } = await setUp();
    const jar = await signIn();
    const session = await sessions.getSession(jar);
    await prolong.engine.logout(session?.sessionId as string);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await sessions.getSession(jar)).not.toBeNull();
    await sessions.close();
  });
});

describe("tokens bound to a client's key", () => {
  it("are no session when they come in a cookie, which carries no DPoP proof (RFC 9449 §7.2)", async () => {
    const { privateKey, publicKey } = await generateKeyPair("EdDSA");
    const verifier = await createVerifier({
      issuer: ISSUER,
      audience: "prolong",
      keys: [{ ...(await exportJWK(publicKey)), kid: "k1", alg: "EdDSA" }],
    });
    const sessions = createServerSessions({
      issuer: ISSUER,
      verifier,
      fetch: () => Promise.reject(new Error("offline")),
    });
    const now = Math.floor(Date.now() / 1000);
    const sign = (extra: Record<string, unknown>) =>
      new SignJWT({ client_id: "web", sid: "s-1", ver: 0, auth_time: now, rfa: now + 30, ...extra })
        .setProtectedHeader({ alg: "EdDSA", typ: "at+jwt", kid: "k1" })
        .setIssuer(ISSUER)
        .setAudience("prolong")
        .setSubject("user-1")
        .setJti("j-1")
        .setIssuedAt(now)
        .setExpirationTime(now + 60)
        .sign(privateKey);
    const cookie = async (extra: Record<string, unknown>) => `__Host-prolong-at=${await sign(extra)}`;
    expect(await sessions.getSession(await cookie({}))).toMatchObject({ subject: "user-1" });
    const stolen = await cookie({ cnf: { jkt: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I" } });
    expect(await sessions.getSession(stolen)).toBeNull();
  });
});

describe("options", () => {
  it("refuses a verifier of its own together with a feed to subscribe it to", () => {
    expect(() =>
      createServerSessions({
        issuer: ISSUER,
        verifier: {} as never,
        revocationFeed: { secret: "x".repeat(16) },
      }),
    ).toThrow(
      expect.objectContaining({ code: "invalid_options", message: expect.stringContaining("not both") }),
    );
  });

  it("refuses a missing or malformed issuer with a coded error", () => {
    expect(() => createServerSessions({ issuer: "not a url" })).toThrow(
      expect.objectContaining({ code: "invalid_options", message: expect.stringContaining("issuer") }),
    );
  });
});

describe("cookieHeaderAfter", () => {
  it("applies Set-Cookie lines as the browser would: replaced, added, deleted, others kept in order", () => {
    expect(
      cookieHeaderAfter("a=1; b=2; c=3", ["b=20; Path=/; HttpOnly", "d=4; Path=/", "c=; Path=/; Max-Age=0"]),
    ).toBe("a=1; b=20; d=4");
  });
});

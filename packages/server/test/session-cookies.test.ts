import type { LightMyRequestResponse } from "fastify";
import { describe, expect, it } from "vitest";
import { sessionCookies } from "../src/session-cookies.js";
import { bearer, claimsOf, login, postToken, testApp } from "./fixtures.js";

const SSR = { cookies: { access: true } };

/** Every `Set-Cookie` of a response, by cookie name: the whole header line. */
function setCookies(response: LightMyRequestResponse): Map<string, string> {
  const lines = [response.headers["set-cookie"] ?? []].flat();
  return new Map(lines.map((line) => [line.slice(0, line.indexOf("=")), line]));
}

const cookieValue = (line: string | undefined) => line?.split(";")[0]?.split("=").slice(1).join("=");

function refreshSsr(app: Parameters<typeof postToken>[0], refresh: string) {
  return postToken(
    app,
    { grant_type: "refresh_token", client_id: "web" },
    { headers: { cookie: `__Host-prolong-rt=${refresh}; __Host-prolong-at=stale`, "prolong-csrf": "1" } },
  );
}

describe("the cookies of a server-rendered app (cookies.access)", () => {
  it("sets the access token and the refresh token as __Host- cookies on /, Lax, private and no-store", async () => {
    const { app } = await testApp(SSR);
    const { response, body } = await login(app);
    const cookies = setCookies(response);
    const access = cookies.get("__Host-prolong-at") as string;
    const refresh = cookies.get("__Host-prolong-rt") as string;
    expect(cookieValue(access)).toBe(body.access_token);
    expect(access).toContain(`Max-Age=${body.expires_in}`);
    expect(cookieValue(refresh)).toMatch(/^[A-Za-z0-9_-]{91}$/);
    for (const line of [access, refresh])
      for (const attribute of ["Path=/;", "HttpOnly", "Secure", "SameSite=Lax"])
        expect(line).toContain(attribute);
    expect(cookies.has("__Secure-prolong-rt")).toBe(false);
    expect(response.headers["cache-control"]).toBe("private, no-store");
  });

  it("renews both from the __Host- refresh cookie; a straggler gets the access cookie alone", async () => {
    const { app } = await testApp(SSR);
    const first = cookieValue(setCookies((await login(app)).response).get("__Host-prolong-rt")) as string;
    const renewed = await refreshSsr(app, first);
    expect(renewed.statusCode).toBe(200);
    const cookies = setCookies(renewed);
    expect(cookieValue(cookies.get("__Host-prolong-at"))).toBe(renewed.json().access_token);
    const second = cookieValue(cookies.get("__Host-prolong-rt")) as string;
    expect(second).not.toBe(first);
    expect(renewed.headers["cache-control"]).toBe("private, no-store");
    await refreshSsr(app, second);
    // The first cookie again, after its successor was used: no refresh cookie to overwrite the newest.
    const late = await refreshSsr(app, first);
    expect(late.statusCode).toBe(200);
    expect([...setCookies(late).keys()]).toEqual(["__Host-prolong-at"]);
    expect(claimsOf(late.json().access_token).sid).toBe(claimsOf(renewed.json().access_token).sid);
  });

  it("clears both at sign-out and when the refresh token is refused, private and no-store", async () => {
    const { app } = await testApp(SSR);
    const { body } = await login(app);
    const out = await app.inject({
      method: "POST",
      url: "/logout",
      headers: { ...bearer(body.access_token as string), "content-type": "application/json" },
      payload: {},
    });
    expect(out.statusCode).toBe(204);
    expect(out.headers["cache-control"]).toBe("private, no-store");
    for (const name of ["__Host-prolong-at", "__Host-prolong-rt"])
      expect(setCookies(out).get(name)).toMatch(new RegExp(`^${name}=; Path=/; Max-Age=0;`));
    const refused = await refreshSsr(app, "A".repeat(91));
    expect(refused.statusCode).toBe(400);
    expect([...setCookies(refused).keys()].sort()).toEqual(["__Host-prolong-at", "__Host-prolong-rt"]);
    expect(refused.headers["cache-control"]).toBe("private, no-store");
  });

  it("takes other names and paths, and refuses those a browser would not honour, naming the setting", async () => {
    const cookies = sessionCookies("https://app.example.test/auth", {
      access: { name: "at" },
      refresh: { name: "rt", path: "/auth", sameSite: "strict" },
    });
    expect(cookies.refreshName).toBe("rt");
    const issued = cookies.issued({
      accessToken: "a.b.c",
      expiresIn: 60,
      refreshToken: "r",
      sessionLeft: 99.5,
    });
    expect(issued).toEqual([
      "rt=r; Path=/auth; Max-Age=99; HttpOnly; Secure; SameSite=Strict",
      "at=a.b.c; Path=/; Max-Age=60; HttpOnly; Secure; SameSite=Lax",
    ]);
    const refusal = (issuer: string, settings: Parameters<typeof sessionCookies>[1]) => {
      try {
        sessionCookies(issuer, settings);
        return null;
      } catch (error) {
        return `${(error as { code: string; message: string }).code}: ${(error as Error).message}`;
      }
    };
    expect(refusal("https://a.test/auth", { refresh: { path: "/app" } })).toBe(
      "invalid_config: cookies.refresh.path: /app does not cover the token endpoint (/auth/oauth/token), which would never receive the cookie",
    );
    expect(refusal("https://a.test/auth", { refresh: { path: "/au" } })).toMatch(/does not cover/);
    expect(refusal("https://a.test", { access: { path: "/app" } })).toBe(
      "invalid_config: cookies.access.path: a __Host- cookie must have the path /, not /app (browsers refuse it)",
    );
    expect(refusal("https://a.test", { access: { name: "x" }, refresh: { name: "x" } })).toMatch(
      /^invalid_config: cookies.access.name: must differ/,
    );
    expect(refusal("https://a.test/auth", {})).toBeNull();
  });

  it("refuses at sign-in an access token too large for a cookie, rather than a session no page would see", () => {
    const cookies = sessionCookies("https://a.test", { access: true });
    expect(() =>
      cookies.issued({ accessToken: "x".repeat(4100), expiresIn: 60, refreshToken: null, sessionLeft: 60 }),
    ).toThrow(/cookies.access: the access token makes a \d+-byte cookie, past the 4096 bytes/);
  });

  it("keeps the default cookie when the access cookie is off", async () => {
    const { app } = await testApp();
    const cookies = setCookies((await login(app)).response);
    expect([...cookies.keys()].filter((name) => /prolong-(rt|at)$/.test(name))).toEqual([
      "__Secure-prolong-rt",
    ]);
    expect(cookies.get("__Secure-prolong-rt")).toContain("Path=/oauth;");
  });
});

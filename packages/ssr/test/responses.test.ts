import type { ServerSession } from "@prolong/ssr";
import { describe, expect, it } from "vitest";
import { unavailableAnswer, withCookieHeader, withSession } from "../src/responses.js";

const SESSION = { subject: "user-42" } as ServerSession;
const RENEWED = ["__Host-prolong-at=new; Path=/", "__Host-prolong-rt=new; Path=/"];

describe("withSession: the rule every adapter's answer follows", () => {
  it("leaves a signed-out answer that sets no cookie as the route made it, cacheable if it says so", () => {
    const response = new Response("ok", { headers: { "cache-control": "public, max-age=60" } });
    expect(withSession(response, { session: null, setCookies: [] })).toBe(response);
    expect(response.headers.get("cache-control")).toBe("public, max-age=60");
  });

  it("adds the renewal's cookies, one header each, and makes the answer private and unstored", async () => {
    const response = new Response("ok", { status: 201, headers: { "cache-control": "public, max-age=60" } });
    const sent = withSession(response, { session: SESSION, setCookies: RENEWED });
    expect(sent.status).toBe(201);
    expect(await sent.text()).toBe("ok");
    expect(sent.headers.getSetCookie()).toEqual(RENEWED);
    expect(sent.headers.get("cache-control")).toBe("private, no-store");
  });

  it("makes an answer rendered for a session private though no cookie changed, and one with the route's own cookie", () => {
    const page = withSession(new Response("page"), { session: SESSION, setCookies: [] });
    expect(page.headers.get("cache-control")).toBe("private, no-store");
    const own = new Response("bye", { headers: { "set-cookie": "theme=dark; Path=/" } });
    expect(withSession(own, { session: null, setCookies: [] }).headers.get("cache-control")).toBe(
      "private, no-store",
    );
  });

  it("never sets a renewal's cookie over one the route set (a sign-out after a renewal), nor over route cookies given apart", () => {
    const signOut = new Response(null, {
      headers: { "set-cookie": "__Host-prolong-rt=; Path=/; Max-Age=0" },
    });
    expect(withSession(signOut, { session: SESSION, setCookies: RENEWED }).headers.getSetCookie()).toEqual([
      "__Host-prolong-rt=; Path=/; Max-Age=0",
      "__Host-prolong-at=new; Path=/",
    ]);
    const login = ["__Host-prolong-at=login; Path=/", "__Host-prolong-rt=login; Path=/"];
    expect(
      withSession(new Response(null), { session: null, setCookies: RENEWED }, login).headers.getSetCookie(),
    ).toEqual(login);
  });

  it("copies an answer whose headers cannot change, keeping status, location and body", async () => {
    const redirect = Response.redirect("https://app.example.test/login", 303);
    const sent = withSession(redirect, { session: null, setCookies: RENEWED });
    expect(sent).not.toBe(redirect);
    expect(sent.status).toBe(303);
    expect(sent.headers.get("location")).toBe("https://app.example.test/login");
    expect(sent.headers.getSetCookie()).toEqual(RENEWED);
  });
});

describe("unavailableAnswer", () => {
  it("is a 503 to retry, never stored, that touches no cookie", async () => {
    const answer = unavailableAnswer();
    expect(answer.status).toBe(503);
    expect(answer.headers.get("retry-after")).toBe("5");
    expect(answer.headers.get("cache-control")).toBe("no-store");
    expect(answer.headers.getSetCookie()).toEqual([]);
    expect(await answer.text()).toMatch(/try again/);
  });
});

describe("withCookieHeader", () => {
  it("replaces the Cookie header, or removes it when no cookie is left, on a copy", () => {
    const headers = new Headers({ cookie: "a=1", accept: "text/html" });
    expect(withCookieHeader(headers, "b=2").get("cookie")).toBe("b=2");
    expect(withCookieHeader(headers, "").has("cookie")).toBe(false);
    expect(headers.get("cookie")).toBe("a=1");
  });
});

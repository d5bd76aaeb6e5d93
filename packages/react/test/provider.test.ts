import type { ChannelLike } from "@prolong/client";
import { createElement } from "react";
import { renderToString } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { ProlongProvider, useSession } from "../src/index.js";

function Status() {
  const { status, claims } = useSession();
  return createElement("output", null, `${status}:${claims?.sub ?? "-"}`);
}

/** Counts what a client holds: listeners on its target and open cross-tab channels. */
function holdings() {
  const held = { listeners: 0, channels: 0, requests: 0 };
  const target = new EventTarget();
  const add = target.addEventListener.bind(target);
  const remove = target.removeEventListener.bind(target);
  target.addEventListener = (type: string, listener: EventListenerOrEventListenerObject | null) => {
    held.listeners++;
    add(type, listener);
  };
  target.removeEventListener = (type: string, listener: EventListenerOrEventListenerObject | null) => {
    held.listeners--;
    remove(type, listener);
  };
  const channel = (): ChannelLike => {
    held.channels++;
    return { postMessage() {}, addEventListener() {}, close: () => void held.channels-- };
  };
  const fetch = async () => {
    held.requests++;
    return new Response(null, { status: 503 });
  };
  return { held, options: { issuer: "https://auth.test", profile: "web" as const, target, channel, fetch } };
}

describe("ProlongProvider", () => {
  it("renders loading on the server, asking nothing and holding nothing once rendered", () => {
    const { held, options } = holdings();
    const html = renderToString(createElement(ProlongProvider, { options }, createElement(Status)));
    expect(html).toBe("<output>loading:-</output>");
    // The client made from the options is stopped at once: React may make two and keep one,
    // and only the effect, which a server never runs, starts the one kept.
    expect(held).toEqual({ listeners: 0, channels: 0, requests: 0 });
  });

  it("renders the session the server was given (initial): signedIn with its claims, or signedOut for null, asking nothing", () => {
    const { held, options } = holdings();
    const part = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const iat = Math.floor(Date.now() / 1000);
    const access_token = `${part({ alg: "EdDSA" })}.${part({ iat, exp: iat + 300, sub: "user-42" })}.sig`;
    const signedIn = createElement(
      ProlongProvider,
      { options, initial: { access_token, expires_in: 300 } },
      createElement(Status),
    );
    expect(renderToString(signedIn)).toBe("<output>signedIn:user-42</output>");
    const signedOut = createElement(ProlongProvider, { options, initial: null }, createElement(Status));
    expect(renderToString(signedOut)).toBe("<output>signedOut:-</output>");
    expect(held).toEqual({ listeners: 0, channels: 0, requests: 0 });
  });

  it("refuses to render with neither a client nor options, with a code", () => {
    const props = {} as Parameters<typeof ProlongProvider>[0];
    expect(() => renderToString(createElement(ProlongProvider, props))).toThrow(
      expect.objectContaining({ code: "invalid_provider_props" }),
    );
  });

  it("refuses useSession() outside a provider, with a code", () => {
    expect(() => renderToString(createElement(Status))).toThrow(
      expect.objectContaining({ code: "no_provider" }),
    );
  });
});

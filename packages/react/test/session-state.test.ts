import { type AccessTokenClaims, createSessionClient, type SessionClient } from "@prolong/client";
import { afterEach, describe, expect, it } from "vitest";
import { SessionState } from "../src/session-state.js";

const issuer = "https://auth.test";

/** An unsigned JWT with the claims the client reads: it never verifies, the API does. */
function accessToken(n: number): string {
  const iat = Math.floor(Date.now() / 1000);
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${part({ alg: "EdDSA", typ: "at+jwt" })}.${part({ iat, exp: iat + 300, sub: "user-42", n })}.sig`;
}

/** The few endpoints a native client calls, answering as prolong does (docs/protocol.md). */
function fakeIssuer() {
  let issued = 0;
  return async (input: RequestInfo | URL): Promise<Response> => {
    const path = new URL(new Request(input).url).pathname;
    if (path === "/.well-known/oauth-authorization-server") {
      return Response.json({
        issuer,
        token_endpoint: `${issuer}/oauth/token`,
        login_endpoint: `${issuer}/login`,
        revocation_endpoint: `${issuer}/oauth/revoke`,
      });
    }
    if (path === "/login" || path === "/oauth/token") {
      issued++;
      return Response.json({ access_token: accessToken(issued), refresh_token: `rt-${issued}` });
    }
    return new Response(null, { status: 200 });
  };
}

const stops: (() => void)[] = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

function nativeClient(stored: string | null = null): SessionClient {
  let token = stored;
  return createSessionClient({
    issuer,
    profile: "native",
    fetch: fakeIssuer(),
    storage: {
      get: () => token,
      set: (t) => {
        token = t;
      },
    },
    locks: null,
    channel: null,
    target: null,
  });
}

/** Starts `state` as the provider's effect does, and counts the notifications React would get. */
function follow(state: SessionState) {
  const seen = { notifications: 0 };
  stops.push(state.subscribe(() => seen.notifications++));
  stops.push(state.start());
  return seen;
}

const settled = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("SessionState", () => {
  it("is loading until the client has looked for a session, then signedOut when there is none", async () => {
    const state = new SessionState(nativeClient());
    expect(state.getSnapshot()).toEqual({ status: "loading", claims: null });
    const seen = follow(state);
    expect(state.getSnapshot().status).toBe("loading");
    await settled();
    expect(state.getSnapshot()).toEqual({ status: "signedOut", claims: null });
    expect(seen.notifications).toBe(1);
  });

  it("resumes a stored session: signedIn with the token's claims", async () => {
    const state = new SessionState(nativeClient("rt-stored"));
    follow(state);
    await settled();
    expect(state.getSnapshot()).toMatchObject({ status: "signedIn", claims: { sub: "user-42", n: 1 } });
  });

  it("follows sign-in, renewal and sign-out, with one snapshot object per change", async () => {
    const client = nativeClient();
    const state = new SessionState(client);
    const seen = follow(state);
    await settled();
    await client.signIn({ username: "maryo", password: "pw" });
    const signedIn = state.getSnapshot();
    expect(signedIn).toMatchObject({ status: "signedIn", claims: { n: 1 } });
    // useSyncExternalStore re-renders in a loop if an unchanged store answers a new object.
    expect(state.getSnapshot()).toBe(signedIn);
    await client.refresh();
    const renewed = state.getSnapshot();
    expect(renewed).not.toBe(signedIn);
    expect(renewed).toMatchObject({ status: "signedIn", claims: { n: 2 } });
    await client.signOut();
    expect(state.getSnapshot()).toEqual({ status: "signedOut", claims: null });
    // One each: the start settling, `authorized`, `refreshed`, `signedOut`.
    expect(seen.notifications).toBe(4);
  });

  it("lets a start cleaned up before it settled (Strict Mode's first mount) decide nothing", async () => {
    const client = new ScriptedClient();
    const state = new SessionState(client as unknown as SessionClient);
    const seen = { notifications: 0 };
    stops.push(state.subscribe(() => seen.notifications++));
    const cleanup = state.start();
    cleanup();
    expect(client.stops).toBe(1);
    expect(client.listeners.size).toBe(0);
    stops.push(state.start());
    // The first start answers late, with nothing: the second is still looking.
    client.answer(0, false);
    await settled();
    expect(state.getSnapshot().status).toBe("loading");
    expect(seen.notifications).toBe(0);
    client.claims = {
      iss: "https://auth.example.test",
      sub: "user-42",
      aud: "prolong",
      iat: 1,
      exp: 2,
      jti: "j1",
      client_id: "web",
      sid: "s1",
      ver: 0,
      auth_time: 1,
      rfa: 2,
    };
    client.answer(1, true);
    await settled();
    expect(state.getSnapshot()).toEqual({ status: "signedIn", claims: client.claims });
    expect(seen.notifications).toBe(1);
  });
});

describe("SessionState of a server-rendered page", () => {
  /** A web client that counts its requests and hears no other tab. */
  function webClient() {
    const seen = { requests: 0 };
    const client = createSessionClient({
      issuer,
      profile: "web",
      fetch: async (input) => {
        seen.requests++;
        return fakeIssuer()(input);
      },
      locks: null,
      channel: null,
      target: null,
    });
    return { client, seen };
  }

  it("is signedIn with the rendered token's claims before the client starts, on the server as at hydration; started, it asks nothing", async () => {
    const { client, seen } = webClient();
    const token = accessToken(7);
    const state = new SessionState(client, { access_token: token, expires_in: 300 });
    const rendered = state.getServerSnapshot();
    expect(rendered).toMatchObject({ status: "signedIn", claims: { sub: "user-42", n: 7 } });
    // Hydration compares the two: the same object, so React keeps the server's markup.
    expect(state.getSnapshot()).toBe(rendered);
    const notified = follow(state);
    await settled();
    expect(seen.requests).toBe(0);
    expect(client.accessToken).toBe(token);
    expect(state.getSnapshot()).toMatchObject({ status: "signedIn", claims: { sub: "user-42", n: 7 } });
    expect(notified.notifications).toBeGreaterThan(0);
    // What the server rendered stays what hydration needs, whatever the client does later.
    expect(state.getServerSnapshot()).toBe(rendered);
  });

  it("is signedOut for a page rendered signed out (null), and stays so with no request", async () => {
    const { client, seen } = webClient();
    const state = new SessionState(client, null);
    expect(state.getServerSnapshot()).toEqual({ status: "signedOut", claims: null });
    expect(state.getSnapshot()).toBe(state.getServerSnapshot());
    follow(state);
    await settled();
    expect(seen.requests).toBe(0);
    expect(state.getSnapshot()).toEqual({ status: "signedOut", claims: null });
  });

  it("follows the client once started: a sign-out after a signed-in render is signedOut", async () => {
    const { client } = webClient();
    const state = new SessionState(client, { access_token: accessToken(1) });
    follow(state);
    await settled();
    await client.signOut();
    expect(state.getSnapshot()).toEqual({ status: "signedOut", claims: null });
  });

  it("without a session from the server (undefined), or with a token it cannot read, is loading as before", () => {
    const { client } = webClient();
    expect(new SessionState(client).getServerSnapshot().status).toBe("loading");
    expect(new SessionState(client, { access_token: "not-a-jwt" }).getServerSnapshot().status).toBe(
      "loading",
    );
  });
});

/** A client whose `start()` answers when the test says, to order the two mounts' answers. */
class ScriptedClient {
  claims: AccessTokenClaims | null = null;
  stops = 0;
  readonly listeners = new Set<() => void>();
  readonly #starts: ((found: boolean) => void)[] = [];

  on(_type: string, listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(): Promise<boolean> {
    return new Promise((resolve) => this.#starts.push(resolve));
  }

  stop(): void {
    this.stops++;
  }

  answer(start: number, found: boolean): void {
    this.#starts[start]?.(found);
  }
}

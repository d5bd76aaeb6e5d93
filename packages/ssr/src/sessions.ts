import {
  ACCESS_COOKIE,
  type AccessTokenClaims,
  CSRF_HEADER,
  CSRF_VALUE,
  DBSC_COOKIE,
  ENDPOINT_PATHS,
  SSR_REFRESH_COOKIE,
} from "@prolong/protocol";
import {
  createRevocationFeed,
  createVerifier,
  type FeedCredentials,
  type RevocationFeed,
  type Verifier,
} from "@prolong/verify";
import {
  type CookieSource,
  cookieHeaderAfter,
  cookieOf,
  parseCookieHeader,
  setCookiesOf,
} from "./cookies.js";

/**
 * The `Cache-Control` of every response that carries a session's `Set-Cookie`: a shared
 * cache (a CDN, a proxy) must never keep it and hand it to someone else.
 */
export const CACHE_CONTROL_PRIVATE = "private, no-store";

/** The signed-in user as the server sees them, from the verified access cookie. */
export interface ServerSession {
  /** The user's id: the access token's `sub`. */
  subject: string;
  /** The session's id (`sid`): what the device list and sign-out name. */
  sessionId: string;
  /** Every claim of the access token, custom ones included. */
  claims: AccessTokenClaims;
  /** When the access token expires, in milliseconds since the epoch. */
  expiresAt: number;
  /**
   * The access token itself: for calls the server makes on the user's behalf (prolong's
   * `GET /sessions`, your API), and for the browser's client to start from (docs/ssr.md).
   */
  accessToken: string;
}

/** What a renewal decided for one request, for a framework adapter to apply. */
export interface Renewal {
  /** The session the render should see, or `null` when signed out. */
  session: ServerSession | null;
  /** `Set-Cookie` lines for the browser; send them with `Cache-Control: private, no-store`. */
  setCookies: string[];
  /**
   * The `Cookie` header the same request's render must see (the new access token), or
   * `null` when it is unchanged.
   */
  requestCookie: string | null;
  /**
   * A renewal was due and prolong could not answer (5xx, unreachable): the cookies stay,
   * and `session` is the old token's while it lasts, else `null`. A page should then say
   * "try again", not show the login form to a user who is still signed in.
   */
  unavailable: boolean;
}

export interface ServerSessionsOptions {
  /** prolong's issuer, as in its tokens' `iss`: its routes (token endpoint, JWKS) are under it. */
  issuer: string;
  /** The `aud` of prolong's access tokens; default `prolong`. */
  audience?: string;
  /** The web client whose cookies these are; default `web`. */
  clientId?: string;
  /** The cookies' names, if the server's `cookies` setting changed them. */
  cookies?: { access?: string; refresh?: string };
  /**
   * How to reach prolong's routes: by default the global `fetch` to the issuer's URLs.
   * Where prolong runs in the same process, `(request) => prolong.fetch(request)` spares
   * the network.
   */
  fetch?: (request: Request) => Promise<Response>;
  /**
   * A verifier of your own (`@prolong/verify`'s `createVerifier`), to subscribe it to the
   * revocation feed, say. By default one is made for the issuer, fetching its JWKS with
   * `fetch` and remembering 1 000 verified tokens.
   */
  verifier?: Verifier;
  /**
   * Subscribes the verifier to prolong's revocation feed with these resource-server
   * credentials (`{ secret }`: prolong's `resourceSecret`), through `fetch`, so a session
   * revoked elsewhere is refused within moments instead of when its access token expires.
   * Only for a long-lived server process: an edge function or a serverless one cannot hold
   * the stream (docs/ssr.md, "Edge runtimes and the revocation feed"). `close()` ends it.
   */
  revocationFeed?: FeedCredentials;
  /** Milliseconds since the epoch; for tests. */
  now?: () => number;
}

export interface ServerSessions {
  /** prolong's issuer, without a trailing slash: its routes are under this URL's path. */
  readonly issuer: string;
  /**
   * The session of a request, from its access cookie, verified locally: no call to prolong
   * once its keys are known. `null` when signed out or the token expired; renewing is the
   * middleware's work ({@link ServerSessions.renew}).
   */
  getSession(source: CookieSource): Promise<ServerSession | null>;
  /**
   * Renews the access token before a render when it is missing, expired or past its `rfa`
   * and the refresh cookie is there. Concurrent renewals with one refresh cookie in this
   * process share one call to the token endpoint; across processes the server's grace
   * window answers them all with the same tokens (docs/protocol.md, "Rotation: replays and
   * stragglers"). A failure of prolong's (5xx, unreachable, rate limited) keeps the cookies
   * and, while it lasts, the old token: it never signs anyone out. A request for one of
   * prolong's own routes (under the issuer's path, where the app serves them) is never
   * renewed: the token endpoint rotates the cookie itself, and renewing in front of it
   * would rotate it twice. The browser's DBSC bound cookie goes with the refresh cookie
   * when it has one: a session bound to the browser's key refreshes only with it
   * (docs/bound-sessions.md, "Browsers: DBSC").
   */
  renew(request: Request): Promise<Renewal>;
  /** Ends the session at prolong (RFC 7009, with the refresh cookie) and clears both cookies. */
  signOut(request: Request): Promise<{ setCookies: string[] }>;
  /** Ends the revocation feed's subscription, if `revocationFeed` started one. */
  close(): Promise<void>;
}

/** What the token endpoint said to a renewal. */
type TokenAnswer =
  | { kind: "renewed"; accessToken: string; setCookies: string[] }
  | { kind: "ended"; setCookies: string[] }
  | { kind: "unavailable" };

function invalidOption(message: string): TypeError {
  return Object.assign(new TypeError(`createServerSessions: ${message}`), { code: "invalid_options" });
}

/** Sessions of a server-rendered app whose cookies prolong sets (its `cookies.access` setting, docs/ssr.md). */
export function createServerSessions(options: ServerSessionsOptions): ServerSessions {
  if (typeof options?.issuer !== "string" || !URL.canParse(options.issuer))
    throw invalidOption("issuer must be prolong's issuer URL, as in its tokens' iss");
  const issuer = options.issuer.replace(/\/+$/, "");
  const names = {
    access: options.cookies?.access ?? ACCESS_COOKIE,
    refresh: options.cookies?.refresh ?? SSR_REFRESH_COOKIE,
  };
  const clientId = options.clientId ?? "web";
  const now = options.now ?? Date.now;
  const send = options.fetch ?? ((request: Request) => fetch(request));

  if (options.verifier && options.revocationFeed)
    throw invalidOption("give verifier or revocationFeed, not both: subscribe your own verifier to the feed");
  const endpoint = (path: string) => `${issuer}${path}`;

  // prolong's routes as `fetch` reaches them, for the JWKS and the feed.
  const viaSend = ((input: RequestInfo | URL, init?: RequestInit) =>
    send(new Request(input, init))) as typeof fetch;
  let feed: RevocationFeed | null = null;
  let closed = false;
  let verifier: Promise<Verifier> | null = options.verifier ? Promise.resolve(options.verifier) : null;
  // Made at first use, not here: a module that creates the sessions at import (a build
  // step, say) opens no connection.
  const verifierOf = () => {
    if (!verifier) {
      if (options.revocationFeed && !closed)
        feed = createRevocationFeed({
          url: endpoint(ENDPOINT_PATHS.revocationFeed),
          credentials: options.revocationFeed,
          fetch: viaSend,
          now,
        });
      verifier = createVerifier({
        issuer,
        audience: options.audience ?? "prolong",
        jwksUri: endpoint("/.well-known/jwks.json"),
        cacheSize: 1000,
        now,
        jwks: { fetch: viaSend },
        ...(feed ? { revocations: feed } : {}),
      });
    }
    return verifier;
  };

  /** The session an access token carries, and whether it is due for renewal; `null` if it is not valid. */
  async function read(token: string | undefined) {
    if (!token) return null;
    const result = await (await verifierOf()).verify(token);
    if (!result.ok) return null;
    const { claims } = result;
    const session: ServerSession = {
      subject: claims.sub,
      sessionId: claims.sid,
      claims,
      expiresAt: claims.exp * 1000,
      accessToken: token,
    };
    return { session, due: result.renewSoon };
  }

  const issuerPath = new URL(issuer).pathname;
  const isProlongRoute = (url: string) => {
    const path = new URL(url).pathname;
    return issuerPath !== "/" && (path === issuerPath || path.startsWith(`${issuerPath}/`));
  };
  /**
   * A cookie request to one of prolong's OAuth endpoints, as the browser's client sends it:
   * the refresh cookie, and the DBSC bound cookie when the browser sent one.
   */
  const oauthRequest = (path: string, refresh: string, fields: Record<string, string>, bound?: string) =>
    new Request(endpoint(path), {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        cookie: `${names.refresh}=${refresh}${bound ? `; ${DBSC_COOKIE}=${bound}` : ""}`,
        [CSRF_HEADER]: CSRF_VALUE,
      },
      body: new URLSearchParams(fields).toString(),
    });

  async function askTokenEndpoint(refresh: string, bound: string | undefined): Promise<TokenAnswer> {
    let response: Response;
    try {
      response = await send(
        oauthRequest(
          ENDPOINT_PATHS.token,
          refresh,
          { grant_type: "refresh_token", client_id: clientId },
          bound,
        ),
      );
    } catch {
      return { kind: "unavailable" };
    }
    const setCookies = setCookiesOf(response.headers);
    if (response.ok) {
      const body = (await response.json().catch(() => null)) as { access_token?: unknown } | null;
      if (typeof body?.access_token !== "string") return { kind: "unavailable" };
      return { kind: "renewed", accessToken: body.access_token, setCookies };
    }
    // Only the server's word that the grant is dead ends the session (RFC 6749 §5.2); any
    // other refusal (an unknown client, a missing header) is a set-up mistake of ours,
    // and signing everyone out for it would make it worse.
    const body = (await response.json().catch(() => null)) as { error?: unknown } | null;
    if (response.status === 400 && body?.error === "invalid_grant")
      return { kind: "ended", setCookies: setCookies.length > 0 ? setCookies : clearedCookies() };
    return { kind: "unavailable" };
  }

  /** Cookies that delete both, for when prolong could not be told (they are set on `/` by default). */
  const clearedCookies = () =>
    [names.refresh, names.access].map(
      (name) => `${name}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax`,
    );

  // One token request per refresh cookie at a time: a burst of parallel page requests
  // (prefetches, RSC, data loaders) renews once here.
  const inFlight = new Map<string, Promise<TokenAnswer>>();
  function renewOnce(refresh: string, bound: string | undefined): Promise<TokenAnswer> {
    let answer = inFlight.get(refresh);
    if (!answer) {
      answer = askTokenEndpoint(refresh, bound).finally(() => inFlight.delete(refresh));
      inFlight.set(refresh, answer);
    }
    return answer;
  }

  return {
    issuer,

    async getSession(source) {
      return (await read(cookieOf(source, names.access)))?.session ?? null;
    },

    async renew(request) {
      const header = request.headers.get("cookie") ?? "";
      const cookies = parseCookieHeader(header);
      const current = await read(cookies.get(names.access) || undefined);
      const refresh = cookies.get(names.refresh);
      const unchanged = {
        session: current?.session ?? null,
        setCookies: [],
        requestCookie: null,
        unavailable: false,
      };
      if ((current && !current.due) || !refresh || isProlongRoute(request.url)) return unchanged;
      const answer = await renewOnce(refresh, cookies.get(DBSC_COOKIE) || undefined);
      if (answer.kind === "unavailable") return { ...unchanged, unavailable: true };
      const requestCookie = cookieHeaderAfter(header, answer.setCookies);
      if (answer.kind === "ended")
        return { session: null, setCookies: answer.setCookies, requestCookie, unavailable: false };
      const renewed = await read(answer.accessToken);
      return {
        session: renewed?.session ?? null,
        setCookies: answer.setCookies,
        requestCookie,
        unavailable: false,
      };
    },

    async signOut(request) {
      const refresh = cookieOf(request, names.refresh);
      if (refresh) {
        try {
          const response = await send(
            oauthRequest(ENDPOINT_PATHS.revocation, refresh, { client_id: clientId }),
          );
          const cleared = setCookiesOf(response.headers);
          await response.body?.cancel();
          if (response.ok && cleared.length > 0) return { setCookies: cleared };
        } catch {
          // prolong unreachable: the browser still forgets the session it asked to end.
        }
      }
      return { setCookies: clearedCookies() };
    },

    async close() {
      closed = true;
      await feed?.close();
    },
  };
}

/**
 * A stand-in for the prolong server in unit tests of the client (one module, so a
 * fake is fair here; the browser and Node suites in e2e/ use the real server).
 */
export class FakeServer {
  /** Server clock minus the test's clock, in ms. */
  skewMs = 0;
  ttl = 300;
  tokenCalls = 0;
  /** When each token-endpoint request arrived (the test's clock, ms). */
  tokenCallTimes: number[] = [];
  apiCalls = 0;
  /** Queue of canned answers for the token endpoint; empty means `fallback`. */
  tokenAnswers: (() => Response | Promise<Response>)[] = [];
  /** The token endpoint's answer once the queue is empty; default success. */
  fallback: (() => Response) | null = null;
  apiAnswers: (() => Response)[] = [];
  /** RFC 7009 revocation requests: their form and whether they carried the CSRF header. */
  revocations: { form: Record<string, string>; csrf: string | null; credentials: string }[] = [];
  /** The session has been revoked: every refresh answers invalid_grant. */
  revoked = false;
  serial = 0;
  refreshToken = "rt-0";
  readonly issuer = "https://auth.test";
  /** Claims added to every access token (a DPoP-bound one's `cnf`), and the answers' token_type. */
  extraClaims: Record<string, unknown> = {};
  tokenType = "Bearer";

  now(): number {
    return Date.now() + this.skewMs;
  }

  accessToken(): string {
    const iat = Math.floor(this.now() / 1000);
    const claims = {
      iat,
      exp: iat + this.ttl,
      rfa: iat + Math.floor(this.ttl * 0.8),
      sid: "s1",
      sub: "u1",
      n: ++this.serial,
      ...this.extraClaims,
    };
    const part = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
    return `${part({ alg: "EdDSA", typ: "at+jwt" })}.${part(claims)}.sig`;
  }

  tokens(): Response {
    this.refreshToken = `rt-${this.serial + 1}`;
    return Response.json({
      access_token: this.accessToken(),
      token_type: this.tokenType,
      expires_in: this.ttl,
      refresh_token: this.refreshToken,
    });
  }

  fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const path = new URL(request.url).pathname;
    if (path === "/.well-known/oauth-authorization-server") {
      return Response.json({
        issuer: this.issuer,
        token_endpoint: `${this.issuer}/oauth/token`,
        login_endpoint: `${this.issuer}/login`,
        revocation_endpoint: `${this.issuer}/oauth/revoke`,
      });
    }
    if (path === "/login") return this.tokens();
    if (path === "/oauth/token") {
      this.tokenCalls++;
      this.tokenCallTimes.push(Date.now());
      const canned = this.tokenAnswers.shift() ?? this.fallback;
      if (canned) return canned();
      return this.revoked ? grantError("session_revoked")() : this.tokens();
    }
    if (path === "/oauth/revoke") {
      const form = Object.fromEntries(new URLSearchParams(await request.text()));
      this.revocations.push({
        form,
        csrf: request.headers.get("prolong-csrf"),
        credentials: init?.credentials ?? "same-origin",
      });
      // The web profile's cookie is implied; a native token must be the current one.
      if (form.token === undefined || form.token === this.refreshToken) this.revoked = true;
      return Response.json({});
    }
    this.apiCalls++;
    const canned = this.apiAnswers.shift();
    if (canned) return canned();
    return Response.json({ ok: true, auth: request.headers.get("authorization") });
  };
}

export const invalidToken = () =>
  new Response(JSON.stringify({ error: "invalid_token" }), {
    status: 401,
    headers: { "www-authenticate": 'Bearer error="invalid_token", error_description="expired"' },
  });

export const grantError = (code: string) => () =>
  new Response(JSON.stringify({ error: "invalid_grant", prolong_error: code }), { status: 400 });

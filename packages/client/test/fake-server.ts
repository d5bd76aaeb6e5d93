/**
 * A stand-in for the prolong server in unit tests of the client (one module, so a
 * fake is fair here; the browser and Node suites in e2e/ use the real server).
 */
export class FakeServer {
  /** Server clock minus the test's clock, in ms. */
  skewMs = 0;
  ttl = 300;
  tokenCalls = 0;
  apiCalls = 0;
  /** Queue of canned answers for the token endpoint; empty means success. */
  tokenAnswers: (() => Response)[] = [];
  apiAnswers: (() => Response)[] = [];
  serial = 0;
  refreshToken = "rt-0";
  readonly issuer = "https://auth.test";

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
    };
    const part = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
    return `${part({ alg: "EdDSA", typ: "at+jwt" })}.${part(claims)}.sig`;
  }

  tokens(): Response {
    this.refreshToken = `rt-${this.serial + 1}`;
    return Response.json({
      access_token: this.accessToken(),
      token_type: "Bearer",
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
      });
    }
    if (path === "/login") return this.tokens();
    if (path === "/oauth/token") {
      this.tokenCalls++;
      const canned = this.tokenAnswers.shift();
      return canned ? canned() : this.tokens();
    }
    if (path === "/logout") return new Response(null, { status: 204 });
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

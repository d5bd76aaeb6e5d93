import {
  type AccessTokenClaims,
  decodeFeedEvent,
  decodeTabMessage,
  ERROR_STATUS,
  type ErrorCode,
  encodeFeedEvent,
  FEED_EVENTS,
  type FeedEvent,
  GRANT_FAILURES,
  RESERVED_CLAIMS,
  SIGN_OUT_REASONS,
  type TabMessage,
} from "@prolong/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

/** The claims `AccessTokenClaims` names, without its index signature for custom claims. */
type NamedClaims = keyof {
  [K in keyof AccessTokenClaims as string extends K ? never : number extends K ? never : K]: true;
};

describe("access-token claims", () => {
  it("reserves every claim the type names, so no custom claim can replace one", () => {
    // A claim added to the type and not here fails the type-check; one left out of RESERVED_CLAIMS fails below.
    const named: Record<NamedClaims, true> = {
      iss: true,
      sub: true,
      aud: true,
      exp: true,
      iat: true,
      nbf: true,
      jti: true,
      client_id: true,
      sid: true,
      ver: true,
      auth_time: true,
      rfa: true,
      cnf: true,
      acr: true,
      amr: true,
      act: true,
    };
    expect(new Set(Object.keys(named))).toEqual(RESERVED_CLAIMS);
  });
});

describe("error codes", () => {
  const codes = Object.keys(ERROR_STATUS) as ErrorCode[];

  it("map to the statuses of docs/protocol.md", () => {
    for (const code of codes) expect(ERROR_STATUS[code], code).toBeGreaterThanOrEqual(400);
    expect(ERROR_STATUS).toMatchObject({
      invalid_request: 400,
      invalid_credentials: 401,
      invalid_token: 401,
      token_expired: 401,
      unauthorized: 401,
      user_disabled: 403,
      not_found: 404,
      conflict: 409,
      rotation_too_early: 409,
      rate_limited: 429,
      store_unavailable: 503,
      // RFC 9449 §5 and §8: both are 400 at the token endpoint.
      invalid_dpop_proof: 400,
      use_dpop_nonce: 400,
    });
  });

  it("count as grant failures only when the credential is dead, never for a failure of ours", () => {
    for (const code of GRANT_FAILURES) {
      expect(codes).toContain(code);
      expect(ERROR_STATUS[code], code).toBeLessThan(500);
    }
    for (const ours of ["store_unavailable", "rate_limited", "internal_error", "device_unbound"] as const)
      expect(GRANT_FAILURES.has(ours), ours).toBe(false);
    expect(GRANT_FAILURES.has("invalid_request")).toBe(false);
    // A bad or nonce-less proof is the request's fault, not the credential's: the client retries.
    expect(GRANT_FAILURES.has("invalid_dpop_proof")).toBe(false);
    expect(GRANT_FAILURES.has("use_dpop_nonce")).toBe(false);
    // docs/protocol.md, Errors: `invalid_grant` and its finer codes, and a failed access token at the exchange.
    const documented =
      "invalid_grant reuse_detected session_revoked session_expired reauth_required user_disabled";
    for (const code of `${documented} invalid_token token_expired`.split(" "))
      expect(GRANT_FAILURES.has(code as ErrorCode), code).toBe(true);
    expect(GRANT_FAILURES.size).toBe(8);
  });
});

describe("revocation feed events", () => {
  const id = fc.string({ unit: "binary", maxLength: 40 });
  const seconds = fc.integer({ min: 0, max: 2 ** 40 });
  const revoked = fc.record({ sid: id, sub: id, exp: seconds });
  const version = fc.record({ sub: id, ver: fc.nat(), exp: seconds });
  const event: fc.Arbitrary<FeedEvent> = fc.oneof(
    revoked.map((data) => ({ event: "revoked" as const, data })),
    version.map((data) => ({ event: "version" as const, data })),
    fc
      .record({
        sessions: fc.array(revoked, { maxLength: 5 }),
        versions: fc.array(version, { maxLength: 5 }),
        at: seconds,
      })
      .map((data) => ({ event: "snapshot" as const, data })),
  );

  /** The blocks a stream of encoded events splits into at its blank lines, as a subscriber reads them. */
  const blocks = (stream: string) => stream.split("\n\n").filter((block) => block !== "");

  it("decode to what was encoded, whatever the ids hold (line breaks, colons, any script)", () => {
    fc.assert(
      fc.property(event, (sent) => {
        const encoded = encodeFeedEvent(sent);
        expect(encoded.endsWith("\n\n")).toBe(true);
        expect(blocks(encoded)).toHaveLength(1);
        expect(decodeFeedEvent(blocks(encoded)[0] as string)).toEqual(sent);
      }),
    );
  });

  it("are the three of docs/protocol.md, in the wire format it shows", () => {
    expect(FEED_EVENTS).toEqual(["snapshot", "revoked", "version"]);
    expect(encodeFeedEvent({ event: "revoked", data: { sid: "s1", sub: "u1", exp: 1700000300 } })).toBe(
      'event: revoked\ndata: {"sid":"s1","sub":"u1","exp":1700000300}\n\n',
    );
  });

  it("skip comments and other fields, and read data split over lines as one", () => {
    expect(decodeFeedEvent(": ping")).toBeNull();
    expect(
      decodeFeedEvent('retry: 2000\n: a comment\nevent: version\ndata: {"sub":"u1",\ndata:"ver":2,"exp":5}'),
    ).toEqual({ event: "version", data: { sub: "u1", ver: 2, exp: 5 } });
  });

  it("refuse unknown events and data of the wrong shape", () => {
    const decode = (name: string, data: string) => decodeFeedEvent(`event: ${name}\ndata: ${data}`);
    expect(decode("message", '{"sid":"s","sub":"u","exp":1}')).toBeNull();
    expect(decodeFeedEvent('data: {"sid":"s","sub":"u","exp":1}')).toBeNull();
    expect(decode("revoked", "not json")).toBeNull();
    expect(decode("revoked", "null")).toBeNull();
    expect(decode("revoked", '{"sid":"s","exp":1}')).toBeNull();
    expect(decode("revoked", '{"sid":"s","sub":"u","exp":"soon"}')).toBeNull();
    expect(decode("version", '{"sub":"u","ver":1.5,"exp":1}')).toBeNull();
    expect(decode("snapshot", '{"sessions":{},"versions":[],"at":1}')).toBeNull();
    expect(decode("snapshot", '{"sessions":[],"versions":[]}')).toBeNull();
  });

  it("keep a snapshot's well-formed entries when others are not", () => {
    const snapshot = {
      sessions: [{ sid: "s1", sub: "u1", exp: 9 }, { sid: 7 }, null],
      versions: [
        { sub: "u2", ver: "3", exp: 9 },
        { sub: "u3", ver: 3, exp: 9 },
      ],
      at: 1,
    };
    expect(decodeFeedEvent(`event: snapshot\ndata: ${JSON.stringify(snapshot)}`)).toEqual({
      event: "snapshot",
      data: {
        sessions: [{ sid: "s1", sub: "u1", exp: 9 }],
        versions: [{ sub: "u3", ver: 3, exp: 9 }],
        at: 1,
      },
    });
  });
});

describe("tab messages", () => {
  it("decode every message of the union as it was sent, without extra fields", () => {
    const sent: TabMessage[] = [
      { type: "hello" },
      { type: "tokens", accessToken: "a.b.c" },
      ...SIGN_OUT_REASONS.map((reason): TabMessage => ({ type: "signedOut", reason })),
      { type: "activity", at: 1_700_000_000_000 },
    ];
    for (const message of sent) {
      expect(decodeTabMessage(structuredClone(message))).toEqual(message);
      expect(decodeTabMessage({ ...message, extra: 1 })).toEqual(message);
    }
  });

  it("are null when not of a message's shape", () => {
    for (const data of [
      null,
      undefined,
      "hello",
      42,
      [],
      {},
      { type: "welcome" },
      { type: "tokens" },
      { type: "tokens", accessToken: "" },
      { type: "tokens", accessToken: 7 },
      { type: "signedOut" },
      { type: "signedOut", reason: "bored" },
      { type: "activity", at: "now" },
      { type: "activity", at: Number.NaN },
    ])
      expect(decodeTabMessage(data)).toBeNull();
  });
});

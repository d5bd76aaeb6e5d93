import {
  authorize,
  createVerifier,
  type GuardOptions,
  unmetRequirements,
  type Verifier,
} from "@prolong/verify";
import { expressGuard } from "@prolong/verify/express";
import { fastifyGuard } from "@prolong/verify/fastify";
import { fetchGuard } from "@prolong/verify/fetch";
import { honoGuard } from "@prolong/verify/hono";
import { koaGuard } from "@prolong/verify/koa";
import { nodeGuard } from "@prolong/verify/node";
import { calculateJwkThumbprint } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { AUDIENCE, claims, ISSUER, makeKeys, NOW, token } from "./fixtures.js";
import { ath, makeProof, proofKey } from "./proofs.js";

/**
 * RFC 9470 step-up at `authorize`: a route's `maxAge` and `acr` requirements, the
 * `insufficient_user_authentication` challenge, and the shapes of `acr`, `amr` and `act`.
 */

const keys = makeKeys();
const clock = { now: NOW * 1000 };
let verifier: Verifier;

beforeAll(async () => {
  verifier = await createVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    keys: [keys.EdDSA.jwk],
    now: () => clock.now,
  });
});

const bearer = (overrides: Record<string, unknown>) => ({
  authorization: `Bearer ${token(keys.EdDSA, overrides)}`,
  tokenInQuery: false,
  tokenInBody: false,
});

describe("maxAge", () => {
  const route: GuardOptions = { realm: "api", maxAge: 60 };

  it("refuses a token whose auth_time is older than maxAge with the RFC 9470 challenge", async () => {
    const result = await authorize(verifier, bearer({ auth_time: NOW - 61 }), route);
    expect(result).toEqual({
      ok: false,
      challenge: {
        status: 401,
        headers: {
          "WWW-Authenticate":
            'Bearer realm="api", error="insufficient_user_authentication", error_description="authentication is too old", max_age=60',
        },
        body: {
          error: "insufficient_user_authentication",
          error_description: "authentication is too old",
          max_age: 60,
        },
      },
    });
  });

  it("lets a fresh authentication through, up to exactly maxAge seconds old", async () => {
    for (const auth_time of [NOW, NOW - 30, NOW - 60]) {
      const result = await authorize(verifier, bearer({ auth_time }), route);
      expect(result).toMatchObject({ ok: true, claims: { auth_time } });
    }
  });

  it("measures the age with the verifier's clock", async () => {
    const fresh = bearer({ auth_time: NOW, iat: NOW, exp: NOW + 300 });
    expect(await authorize(verifier, fresh, route)).toMatchObject({ ok: true });
    clock.now = (NOW + 61) * 1000;
    try {
      expect(await authorize(verifier, fresh, route)).toMatchObject({
        ok: false,
        challenge: { status: 401, body: { error: "insufficient_user_authentication" } },
      });
    } finally {
      clock.now = NOW * 1000;
    }
  });

  it("does not apply to routes that do not ask for it", async () => {
    expect(await authorize(verifier, bearer({ auth_time: NOW - 86_400 }), { realm: "api" })).toMatchObject({
      ok: true,
    });
  });

  it("is checked after the token: a bad or expired token is still invalid_token", async () => {
    const expired = await authorize(
      verifier,
      bearer({ auth_time: NOW - 900, iat: NOW - 400, exp: NOW - 60 }),
      route,
    );
    expect(expired).toMatchObject({
      ok: false,
      challenge: { status: 401, body: { error: "invalid_token", error_description: "expired" } },
    });
    const forged = await authorize(
      verifier,
      { ...bearer({}), authorization: `Bearer ${token(keys.ES256, { auth_time: NOW - 900 })}` },
      route,
    );
    expect(forged).toMatchObject({ ok: false, challenge: { body: { error: "invalid_token" } } });
  });
});

describe("acr", () => {
  const route: GuardOptions = { acr: ["mfa", "hwk"] };

  it("refuses a token whose acr is not in the set, naming the set in acr_values", async () => {
    const result = await authorize(verifier, bearer({ acr: "pwd" }), route);
    expect(result).toEqual({
      ok: false,
      challenge: {
        status: 401,
        headers: {
          "WWW-Authenticate":
            'Bearer error="insufficient_user_authentication", error_description="authentication context is not accepted", acr_values="mfa hwk"',
        },
        body: {
          error: "insufficient_user_authentication",
          error_description: "authentication context is not accepted",
          acr_values: "mfa hwk",
        },
      },
    });
  });

  it("refuses a token without acr", async () => {
    expect(await authorize(verifier, bearer({}), route)).toMatchObject({
      ok: false,
      challenge: { status: 401, body: { error: "insufficient_user_authentication", acr_values: "mfa hwk" } },
    });
  });

  it("lets any acr of the set through", async () => {
    for (const acr of ["mfa", "hwk"])
      expect(await authorize(verifier, bearer({ acr }), route)).toMatchObject({ ok: true, claims: { acr } });
  });

  it("with maxAge too, names both requirements whichever falls short", async () => {
    const both: GuardOptions = { maxAge: 300, acr: ["mfa"] };
    const wrongAcr = await authorize(verifier, bearer({ acr: "pwd", auth_time: NOW }), both);
    expect(wrongAcr).toMatchObject({
      ok: false,
      challenge: {
        headers: {
          "WWW-Authenticate":
            'Bearer error="insufficient_user_authentication", error_description="authentication context is not accepted", max_age=300, acr_values="mfa"',
        },
      },
    });
    const tooOld = await authorize(verifier, bearer({ acr: "mfa", auth_time: NOW - 301 }), both);
    expect(tooOld).toMatchObject({
      ok: false,
      challenge: {
        body: { error_description: "authentication is too old", max_age: 300, acr_values: "mfa" },
      },
    });
    const neither = await authorize(verifier, bearer({ acr: "pwd", auth_time: NOW - 301 }), both);
    expect(neither).toMatchObject({
      ok: false,
      challenge: { body: { error_description: "authentication is too old and its context is not accepted" } },
    });
    expect(await authorize(verifier, bearer({ acr: "mfa", auth_time: NOW - 10 }), both)).toMatchObject({
      ok: true,
    });
  });

  it("unmetRequirements says which fall short", () => {
    const base = claims() as Parameters<typeof unmetRequirements>[0];
    expect(
      unmetRequirements({ ...base, auth_time: NOW - 100, acr: "pwd" }, { maxAge: 60, acr: ["mfa"] }, NOW),
    ).toEqual(["maxAge", "acr"]);
    expect(unmetRequirements({ ...base, acr: "mfa" }, { maxAge: 60, acr: ["mfa"] }, NOW)).toEqual([]);
    expect(unmetRequirements(base, {}, NOW)).toEqual([]);
  });
});

describe("DPoP-bound tokens", () => {
  it("are answered under the DPoP scheme with the algorithms", async () => {
    const key = proofKey("ES256");
    const jkt = await calculateJwkThumbprint(key.jwk, "sha256");
    const bound = token(keys.EdDSA, { cnf: { jkt }, acr: "pwd" });
    const url = "https://api.example.test/admin";
    const result = await authorize(
      verifier,
      {
        authorization: `DPoP ${bound}`,
        tokenInQuery: false,
        tokenInBody: false,
        dpop: makeProof(key, "GET", url, NOW, { claims: { ath: ath(bound) } }),
        method: "GET",
        url,
      },
      { acr: ["mfa"] },
    );
    expect(result).toMatchObject({
      ok: false,
      challenge: {
        status: 401,
        headers: {
          "WWW-Authenticate":
            'DPoP error="insufficient_user_authentication", error_description="authentication context is not accepted", acr_values="mfa", algs="ES256 EdDSA RS256 PS256"',
        },
        body: { error: "insufficient_user_authentication", acr_values: "mfa" },
      },
    });
  });
});

describe("requirements are checked where a guard is made", () => {
  const guards = {
    express: expressGuard,
    fastify: fastifyGuard,
    fetch: fetchGuard,
    hono: honoGuard,
    koa: koaGuard,
    node: nodeGuard,
  };
  const bad: [GuardOptions, RegExp][] = [
    [{ maxAge: -1 }, /maxAge/],
    [{ maxAge: 1.5 }, /maxAge/],
    [{ maxAge: "60" as unknown as number }, /maxAge/],
    [{ acr: [] }, /acr/],
    [{ acr: "mfa" as unknown as string[] }, /acr/],
    [{ acr: ["two words"] }, /acr/],
    [{ acr: ['quo"te'] }, /acr/],
    [{ acr: [""] }, /acr/],
  ];

  for (const [name, make] of Object.entries(guards)) {
    it(`${name}: a TypeError naming the option`, () => {
      for (const [options, field] of bad) expect(() => make(verifier, options)).toThrow(field);
      expect(() => make(verifier, { maxAge: 0, acr: ["urn:mace:incommon:iap:silver"] })).not.toThrow();
    });
  }

  it("authorize, called directly, checks them too", async () => {
    await expect(authorize(verifier, bearer({}), { maxAge: -5 })).rejects.toThrow(TypeError);
  });
});

describe("acr, amr and act claims", () => {
  it("are handed out when well formed", async () => {
    const result = await authorize(
      verifier,
      bearer({ acr: "mfa", amr: ["pwd", "otp"], act: { sub: "admin-7" } }),
      {},
    );
    expect(result).toMatchObject({
      ok: true,
      claims: { acr: "mfa", amr: ["pwd", "otp"], act: { sub: "admin-7" } },
    });
  });

  it("make the token invalid when of another shape", async () => {
    const shapes = [
      { acr: 2 },
      { acr: "" },
      { amr: "pwd" },
      { amr: ["pwd", 3] },
      { act: "admin-7" },
      { act: {} },
      { act: [{ sub: "admin-7" }] },
    ];
    for (const shape of shapes) {
      expect(await verifier.verify(token(keys.EdDSA, shape))).toEqual({
        ok: false,
        code: "invalid_token",
        reason: expect.stringMatching(/^(acr|amr|act) /),
      });
    }
  });
});

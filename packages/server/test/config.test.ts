import { isProlongError } from "@prolong/core";
import { fromEnvironment, policyOf, resolveConfig } from "@prolong/server";
import { describe, expect, it } from "vitest";
import { bearer, login, testApp } from "./fixtures.js";

/** The message of the `invalid_config` error a configuration raises. */
function refusal(settings: Record<string, unknown>): string {
  try {
    resolveConfig({ issuer: "https://auth.example.test", ...settings });
  } catch (error) {
    if (isProlongError(error, "invalid_config")) return error.message;
    throw error;
  }
  throw new Error("the configuration was accepted");
}

describe("configuration bounds", () => {
  it("refuses an idle timeout whose deadlines no date can hold, naming the setting", () => {
    expect(refusal({ profiles: { web: { idleTimeout: 1e13 } } })).toMatch(
      /^profiles\.web\.idleTimeout: must be at most 315360000 s \(10 years\)$/,
    );
  });

  it.each([
    [
      { profiles: { native: { absoluteLifetime: 1e12 } } },
      "profiles.native.absoluteLifetime: must be at most",
    ],
    [
      { profiles: { web: { accessTokenTtl: 86_401 } } },
      "profiles.web.accessTokenTtl: must be at most 86400 s",
    ],
    [{ profiles: { web: { accessTokenTtl: 0.5 } } }, "profiles.web.accessTokenTtl: must be a whole number"],
    [{ profiles: { web: { graceWindow: 7200 } } }, "profiles.web.graceWindow: must be at most 3600 s"],
    [{ rateLimits: { login: { max: 1e9, windowSeconds: 60 } } }, "rateLimits.login.max: must be at most"],
    [
      { rateLimits: { login: { max: 2.5, windowSeconds: 60 } } },
      "rateLimits.login.max: must be a whole number",
    ],
    [
      { rateLimits: { failedGrants: { max: 10, windowSeconds: 1e7 } } },
      "rateLimits.failedGrants.windowSeconds: must be at most 86400",
    ],
  ])("refuses %j", (settings, message) => {
    expect(refusal(settings)).toContain(message);
  });

  it("says once why a duration past the safe integers is refused", () => {
    expect(refusal({ profiles: { web: { accessTokenTtl: 1e20 } } })).toBe(
      "profiles.web.accessTokenTtl: must be at most 86400 s (1 day)",
    );
  });

  it("lists sessions under the longest idle timeout it accepts", async () => {
    const { app } = await testApp({ profiles: { web: { idleTimeout: 3650 * 86_400 } } });
    const { body } = await login(app);
    const sessions = await app.inject({
      method: "GET",
      url: "/sessions",
      headers: bearer(body.access_token as string),
    });
    expect(sessions.statusCode).toBe(200);
  });
});

describe("demo mode", () => {
  it("is off unless asked for", () => {
    expect(resolveConfig({ issuer: "https://auth.example.test" }).demo).toBe(false);
  });

  it.each([
    ["1", true],
    ["true", true],
    ["0", false],
    ["false", false],
  ])("PROLONG_DEMO=%s turns it %s", (value, on) => {
    expect(fromEnvironment({ PROLONG_DEMO: value })).toEqual({ demo: on });
  });

  it("refuses any other PROLONG_DEMO, naming it", () => {
    expect(() => fromEnvironment({ PROLONG_DEMO: "yes" })).toThrow(
      /^PROLONG_DEMO: must be 1, true, 0 or false$/,
    );
    expect(() => fromEnvironment({ PROLONG_DEMO: "constructor" })).toThrow(/PROLONG_DEMO/);
  });
});

describe("workers", () => {
  it("is one process unless asked for more", () => {
    expect(resolveConfig({ issuer: "https://auth.example.test" }).workers).toBe(1);
    expect(resolveConfig({ issuer: "https://auth.example.test", workers: 64 }).workers).toBe(64);
  });

  it.each([0, 65, 2.5, Number.NaN, "2"])("refuses %s, naming the setting", (workers) => {
    expect(refusal({ workers })).toBe("workers: must be a whole number from 1 to 64");
  });

  it("refuses a memory: store for more than one, which each worker would hold alone", () => {
    expect(refusal({ workers: 2, store: "memory:" })).toMatch(
      /^workers: 2 processes cannot share a memory: store .*; use sqlite:PATH, or one worker$/,
    );
    expect(resolveConfig({ issuer: "https://auth.example.test", workers: 1, store: "memory:" }).workers).toBe(
      1,
    );
  });

  it("is read from PROLONG_WORKERS as a number", () => {
    expect(fromEnvironment({ PROLONG_WORKERS: "4" })).toEqual({ workers: 4 });
    expect(refusal(fromEnvironment({ PROLONG_WORKERS: "four" }))).toBe(
      "workers: must be a whole number from 1 to 64",
    );
  });
});

describe("DBSC", () => {
  it("is off for both profiles until turned on, with a ten-minute bound cookie", () => {
    const { policy } = resolveConfig({});
    expect(policy.profiles.web?.dbsc).toEqual({ enabled: false, cookieLifetimeSeconds: 600 });
    expect(policy.profiles.native?.dbsc).toEqual({ enabled: false, cookieLifetimeSeconds: 600 });
    const on = resolveConfig({ profiles: { web: { dbsc: { enabled: true } } } }).policy.profiles.web;
    expect(on?.dbsc).toEqual({ enabled: true, cookieLifetimeSeconds: 600 });
  });

  it("is refused where the refresh token is no cookie, and with a lifetime out of range", () => {
    expect(refusal({ profiles: { native: { dbsc: { enabled: true } } } })).toBe(
      'profiles.native.dbsc.enabled: needs refreshTransport "cookie": DBSC binds browser cookies',
    );
    expect(refusal({ profiles: { web: { dbsc: { cookieLifetimeSeconds: 0 } } } })).toBe(
      "profiles.web.dbsc.cookieLifetimeSeconds: must be at least 1 s",
    );
    expect(refusal({ profiles: { web: { dbsc: { enable: true } } } })).toBe(
      "profiles.web.dbsc.enable: unknown setting; did you mean enabled?",
    );
  });
});

describe("a misspelt setting", () => {
  it("names the nearest top-level setting", () => {
    expect(refusal({ prot: 3000 })).toBe("prot: unknown setting; did you mean port?");
    expect(refusal({ origins: [] })).toBe("origins: unknown setting; did you mean allowedOrigins?");
  });

  it("points a nested setting written at the top to where it belongs", () => {
    expect(refusal({ accesTokenTtl: 60 })).toBe(
      "accesTokenTtl: unknown setting; did you mean profiles.<name>.accessTokenTtl?",
    );
  });

  it("names the nearest setting of a profile, a client and a rate limit", () => {
    expect(refusal({ profiles: { web: { idleTimout: 60 } } })).toBe(
      "profiles.web.idleTimout: unknown setting; did you mean idleTimeout?",
    );
    expect(refusal({ profiles: { kiosk: { accesTokenTtl: 60 } } })).toBe(
      "profiles.kiosk.accesTokenTtl: unknown setting; did you mean accessTokenTtl?",
    );
    expect(refusal({ clients: { ios: { profile: "native", profil: "web" } } })).toBe(
      "clients.ios.profil: unknown setting; did you mean profile?",
    );
    expect(refusal({ rateLimits: { logn: { max: 5, windowSeconds: 60 } } })).toBe(
      "rateLimits.logn: unknown setting; did you mean login?",
    );
    expect(refusal({ rateLimits: { login: { max: 5, windowSeconds: 60, windowSecond: 60 } } })).toBe(
      "rateLimits.login.windowSecond: unknown setting; did you mean windowSeconds?",
    );
  });

  it("lists the valid names at that level when none is close", () => {
    expect(refusal({ profiles: { web: { colour: "blue" } } })).toBe(
      "profiles.web.colour: unknown setting; valid settings here: accessTokenTtl, refreshAfterRatio, idleTimeout, absoluteLifetime, graceWindow, refreshTransport, exchange, dbsc, dpop, maxSessions",
    );
    const top = refusal({ zzz: 1 });
    expect(top).toMatch(/^zzz: unknown setting; valid settings here: port, host, issuer, store, /);
    expect(top).toContain(
      "trustProxy, cookies, demo, logLevel, profiles, clients, dpop, impersonation, rateLimits",
    );
  });

  it("takes a profile's dpop as off, allowed or required, off by default, and dpop.nonce as a boolean", () => {
    const config = resolveConfig(
      { issuer: "https://auth.example.test" },
      { profiles: { native: { dpop: "required" } }, dpop: { nonce: true } },
    );
    expect(config.policy.profiles.native?.dpop).toBe("required");
    expect(config.policy.profiles.web?.dpop).toBe("off");
    expect(config.dpop.nonce).toBe(true);
    expect(refusal({ profiles: { web: { dpop: "on" } } })).toMatch(/^profiles\.web\.dpop: /);
    expect(refusal({ dpop: { nonce: "yes" } })).toMatch(/^dpop\.nonce: /);
    expect(refusal({ dpop: { nonces: true } })).toBe("dpop.nonces: unknown setting; did you mean nonce?");
  });

  it("reports each unknown setting with its own suggestion, among other problems", () => {
    expect(refusal({ prot: 1, hots: "x", adminToken: "short" })).toBe(
      "adminToken: must be at least 16 characters; prot: unknown setting; did you mean port?; hots: unknown setting; did you mean host?",
    );
  });

  it("names the nearest environment variable", () => {
    expect(() => fromEnvironment({ PROLONG_ISSUR: "https://auth.example.test" })).toThrow(
      /^PROLONG_ISSUR: unknown environment variable; did you mean PROLONG_ISSUER\?$/,
    );
    expect(() => fromEnvironment({ PROLONG_TOKEN: "x".repeat(16) })).toThrow(
      /^PROLONG_TOKEN: unknown environment variable; did you mean PROLONG_ADMIN_TOKEN\?$/,
    );
  });

  it("lists the environment variables when none is close", () => {
    expect(() => fromEnvironment({ PROLONG_COLOUR: "blue" })).toThrow(
      /^PROLONG_COLOUR: unknown environment variable; valid variables: PROLONG_PORT, PROLONG_HOST, PROLONG_ISSUER, .*PROLONG_DEMO, PROLONG_LOG_LEVEL$/,
    );
  });

  it("still reads every documented variable as its setting's type", () => {
    expect(
      fromEnvironment({ PROLONG_PORT: "8080", PROLONG_DEMO: "true", PROLONG_STORE: "memory:", HOME: "/x" }),
    ).toEqual({ port: 8080, demo: true, store: "memory:" });
  });
});

describe("overrides", () => {
  const base = { issuer: "https://auth.example.test" };

  it("keep the default of a rate-limit field left out", () => {
    const { rateLimits } = resolveConfig({ ...base, rateLimits: { grantsPerSession: { max: 1_000_000 } } });
    expect(rateLimits.grantsPerSession).toEqual({ max: 1_000_000, windowSeconds: 60 });
    const login = resolveConfig({ ...base, rateLimits: { login: { windowSeconds: 900 } } }).rateLimits;
    expect(login.login).toEqual({ max: 30, windowSeconds: 900 });
    expect(login.failedGrants).toEqual({ max: 60, windowSeconds: 60 });
  });

  it("merge layer over layer at every level: file, then variables, then flags", () => {
    const file = {
      ...base,
      profiles: { web: { idleTimeout: 86_400 }, kiosk: { accessTokenTtl: 60 } },
      rateLimits: { login: { max: 5 } },
    };
    const later = {
      port: 4000,
      profiles: { web: { graceWindow: 30 } },
      rateLimits: { login: { windowSeconds: 900 }, failedGrants: { max: 7 } },
    };
    const config = resolveConfig(file, {}, later);
    expect(config.port).toBe(4000);
    expect(config.profiles).toEqual({
      web: { idleTimeout: 86_400, graceWindow: 30 },
      kiosk: { accessTokenTtl: 60 },
    });
    expect(config.rateLimits.login).toEqual({ max: 5, windowSeconds: 900 });
    expect(config.rateLimits.failedGrants).toEqual({ max: 7, windowSeconds: 60 });
    const web = policyOf(config).profiles.web;
    expect(web).toMatchObject({ idleTimeout: 86_400, graceWindow: 30, accessTokenTtl: 300 });
  });

  it("check a per-session budget given in part against the profiles, with the default it keeps", () => {
    expect(refusal({ rateLimits: { grantsPerSession: { windowSeconds: 3600 } } })).toMatch(
      /^rateLimits\.grantsPerSession: 20 per 3600 s is too few for profile "web"/,
    );
  });

  it("still name a field that is wrong, unknown or of the wrong type", () => {
    expect(refusal({ rateLimits: { login: { maxx: 5 } } })).toBe(
      "rateLimits.login.maxx: unknown setting; did you mean max?",
    );
    expect(refusal({ rateLimits: { login: { max: "5" } } })).toMatch(/^rateLimits\.login\.max: .*number/);
    expect(refusal({ rateLimits: { login: 5 } })).toMatch(/^rateLimits\.login: .*object/);
    expect(refusal({ profiles: { web: { idleTimeout: "1d" } } })).toMatch(/^profiles\.web\.idleTimeout: /);
    expect(() => resolveConfig(base, { rateLimits: { login: { max: 5, windowSecond: 60 } } })).toThrow(
      "rateLimits.login.windowSecond: unknown setting; did you mean windowSeconds?",
    );
  });

  it("let a later layer replace a list or a value, not merge into it", () => {
    const config = resolveConfig(
      { ...base, allowedOrigins: ["https://a.example.test"], trustProxy: ["10.0.0.1"] },
      { allowedOrigins: ["https://b.example.test"], trustProxy: 1 },
    );
    expect(config.allowedOrigins).toEqual(["https://b.example.test"]);
    expect(config.trustProxy).toBe(1);
  });

  it("keep a `__proto__` key of a file a key, refused as unknown", () => {
    const file = JSON.parse('{"__proto__": {"port": 1}}') as Record<string, unknown>;
    expect(refusal(file)).toMatch(/^__proto__: unknown setting/);
  });
});

describe("budgets named for what they count", () => {
  const base = { issuer: "https://auth.example.test" };

  it("still reads the old names, refresh and refreshPerSession, as failedGrants and grantsPerSession", () => {
    const { rateLimits } = resolveConfig({
      ...base,
      rateLimits: { refresh: { max: 7 }, refreshPerSession: { max: 500, windowSeconds: 120 } },
    });
    expect(rateLimits.failedGrants).toEqual({ max: 7, windowSeconds: 60 });
    expect(rateLimits.grantsPerSession).toEqual({ max: 500, windowSeconds: 120 });
    expect(rateLimits).not.toHaveProperty("refresh");
    expect(rateLimits).not.toHaveProperty("refreshPerSession");
  });

  it("lets a later layer's new name override an earlier layer's old one, field by field", () => {
    const config = resolveConfig(
      { ...base, rateLimits: { refresh: { max: 7, windowSeconds: 300 } } },
      { rateLimits: { failedGrants: { max: 9 } } },
    );
    expect(config.rateLimits.failedGrants).toEqual({ max: 9, windowSeconds: 300 });
  });

  it("refuses an old name beside its new one in the same layer, naming both", () => {
    expect(refusal({ rateLimits: { refresh: { max: 7 }, failedGrants: { max: 9 } } })).toBe(
      "rateLimits.refresh: is the old name of rateLimits.failedGrants; give only failedGrants",
    );
  });

  it("checks a budget given by its old name as the new one", () => {
    expect(refusal({ rateLimits: { refreshPerSession: { windowSeconds: 3600 } } })).toMatch(
      /^rateLimits\.grantsPerSession: 20 per 3600 s is too few for profile "web"/,
    );
  });
});

describe("the session policy", () => {
  it("is validated once, where the configuration is read, and the engine keeps that copy", async () => {
    const { engine, config } = await testApp({ profiles: { web: { idleTimeout: 3600 } } });
    expect(Object.isFrozen(config.policy)).toBe(true);
    expect(Object.isFrozen(config.policy.profiles.web)).toBe(true);
    expect(config.policy.profiles.web?.idleTimeout).toBe(3600);
    // The engine took the checked policy as it is, rather than validating a copy of its own.
    expect(engine.policy).toBe(config.policy);
  });
});

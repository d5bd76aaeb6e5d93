import { isProlongError } from "@prolong/core";
import { fromEnvironment, resolveConfig } from "@prolong/server";
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
      { rateLimits: { refresh: { max: 10, windowSeconds: 1e7 } } },
      "rateLimits.refresh.windowSeconds: must be at most 86400",
    ],
  ])("refuses %j", (settings, message) => {
    expect(refusal(settings)).toContain(message);
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

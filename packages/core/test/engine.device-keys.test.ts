import { isProlongError } from "@prolong/core";
import { describe, expect, it } from "vitest";
import { setup } from "./fixtures.js";

const KEY = JSON.stringify({ kty: "EC", crv: "P-256", x: "x-of-the-key", y: "y-of-the-key" });

async function signedIn() {
  const t = await setup();
  const tokens = await t.engine.signIn({ username: "Maryo", password: "correct horse battery" });
  return { ...t, tokens };
}

describe("DBSC device keys in the engine", () => {
  it("registers a key once, on a session in good standing only", async () => {
    const { engine, tokens } = await signedIn();
    expect(await engine.deviceBinding(tokens.sessionId)).toMatchObject({ deviceKey: null });
    expect(await engine.registerDeviceKey(tokens.sessionId, KEY)).toBe("registered");
    expect(await engine.registerDeviceKey(tokens.sessionId, "{}")).toBe("taken");
    expect(await engine.deviceBinding(tokens.sessionId)).toMatchObject({
      sessionId: tokens.sessionId,
      deviceKey: KEY,
      profile: { dbsc: { enabled: false, cookieLifetimeSeconds: 600 } },
    });
    expect(await engine.registerDeviceKey("no-such-session", KEY)).toBe("missing");
    await engine.logout(tokens.sessionId);
    expect(await engine.deviceBinding(tokens.sessionId)).toBeNull();
  });

  it("has no binding for a session whose subject signed out everywhere", async () => {
    const { engine, tokens, user } = await signedIn();
    await engine.registerDeviceKey(tokens.sessionId, KEY);
    await engine.logoutEverywhere(user.id);
    expect(await engine.deviceBinding(tokens.sessionId)).toBeNull();
  });

  it("refreshes a keyed session only when the bound cookie came, refusing with device_unbound and rotating nothing", async () => {
    const { engine, tokens } = await signedIn();
    await engine.registerDeviceKey(tokens.sessionId, KEY);
    const refused = await engine
      .refresh({ refreshToken: tokens.refreshToken, clientId: "web" })
      .catch((e) => e);
    expect(isProlongError(refused, "device_unbound")).toBe(true);
    // Nothing was rotated: the same token still refreshes once the cookie comes.
    const refreshed = await engine.refresh({
      refreshToken: tokens.refreshToken,
      clientId: "web",
      deviceBound: true,
    });
    expect(refreshed.refreshToken).not.toBeNull();
    expect(refreshed.replayed).toBe(false);
  });

  it("claims a single-use value once until it expires", async () => {
    const { engine, clock } = await signedIn();
    const until = clock.now() + 60_000;
    expect(await engine.claimOnce("dbsc:nonce", until)).toBe(true);
    expect(await engine.claimOnce("dbsc:nonce", until)).toBe(false);
    clock.advance(60);
    expect(await engine.claimOnce("dbsc:nonce", clock.now() + 60_000)).toBe(true);
  });
});

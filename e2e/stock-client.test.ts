import * as oauth from "oauth4webapi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, type RunningServer, readResourceSecret, startServerProcess } from "./server-process.js";

// oauth4webapi refuses plain http unless told otherwise; loopback in a test is the one place
// that is acceptable. Nothing else about the client is changed.
const insecure = { [oauth.allowInsecureRequests]: true };

let server: RunningServer;
let issuer: URL;

beforeAll(async () => {
  const port = await freePort();
  issuer = new URL(`http://127.0.0.1:${port}`);
  server = await startServerProcess(["--port", String(port), "--issuer", issuer.origin, "--demo"]);
});
afterAll(async () => {
  await server.stop();
});

describe("a stock OAuth client (oauth4webapi), unmodified", () => {
  it("discovers the metadata, refreshes, introspects and revokes", async () => {
    const as = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, { algorithm: "oauth2", ...insecure }),
    );
    expect(as.token_endpoint).toBe(`${issuer.origin}/oauth/token`);

    const login = await fetch(as.login_endpoint as string, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "demo", password: server.demoPassword, client_id: "native" }),
    });
    const signedIn = await login.json();

    const client: oauth.Client = { client_id: "native" };
    const refreshed = await oauth.processRefreshTokenResponse(
      as,
      client,
      await oauth.refreshTokenGrantRequest(as, client, oauth.None(), signedIn.refresh_token, insecure),
    );
    expect(refreshed.token_type).toBe("bearer");
    expect(refreshed.refresh_token).toBeDefined();
    expect(refreshed.refresh_token).not.toBe(signedIn.refresh_token);

    const resource: oauth.Client = { client_id: "resource" };
    const introspected = await oauth.processIntrospectionResponse(
      as,
      resource,
      await oauth.introspectionRequest(
        as,
        resource,
        oauth.ClientSecretBasic(await readResourceSecret(server)),
        refreshed.access_token,
        insecure,
      ),
    );
    expect(introspected).toMatchObject({ active: true, client_id: "native", sid: signedIn.session_id });

    await oauth.processRevocationResponse(
      await oauth.revocationRequest(as, client, oauth.None(), refreshed.refresh_token as string, insecure),
    );
    const after = await oauth.refreshTokenGrantRequest(
      as,
      client,
      oauth.None(),
      refreshed.refresh_token as string,
      insecure,
    );
    await expect(oauth.processRefreshTokenResponse(as, client, after)).rejects.toMatchObject({
      error: "invalid_grant",
    });
  });
});

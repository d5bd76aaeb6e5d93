// panva's oidc-provider as its documentation configures rotating refresh tokens and JWT
// access tokens: `rotateRefreshToken: true`, resource indicators with one resource server
// whose access tokens are JWTs signed EdDSA (Ed25519), a public native client
// (`token_endpoint_auth_method: none`), and its own in-memory adapter.
// Started by bench/peers.mjs as a process of its own; bound to 127.0.0.1.
//   node bench/peers/oidc-provider-server.mjs --port P --sessions N --tokens FILE
// Before listening it makes N grants, each with one refresh token, through the
// provider's own models (Grant, RefreshToken; what its authorization-code grant saves at
// the end of a sign-in), and writes their values to FILE as a JSON array. The token
// endpoint is mounted at /oauth/token, where prolong's is, so the same load generator
// drives both. Prints "oidc-provider listening on URL" once up.
//
// Its memory adapter keeps everything in one LRU map (grants, each grant's index of its
// tokens, refresh tokens, consumed ones too until they expire or are pushed out), and
// nothing else: no sessions table, no audit, no rate-limit counters. By default that LRU
// holds 1,000 entries, about three per live grant, so with more grants than about 300
// live ones are evicted and their tokens answer invalid_grant; the same adapter class is
// given here an LRU of its own (oidc-provider's LRU class) sized 20 entries per grant,
// the only change from its default. Rotation consumes the presented token (kept,
// flagged) and saves its successor; a JWT access token is signed and not stored.
import { generateKeyPairSync } from "node:crypto";
import { writeFileSync } from "node:fs";
import { createServer } from "node:http";
import Provider from "oidc-provider";
import MemoryAdapter from "oidc-provider/lib/adapters/memory_adapter.js";
import LRU from "oidc-provider/lib/helpers/lru.js";
import { benchOptions } from "../lib/args.mjs";

const options = benchOptions({
  port: { type: "number", default: 0, min: 0, max: 65_535, integer: true },
  sessions: { type: "number", default: 10_000, min: 1, max: 1_000_000, integer: true },
  tokens: { type: "string" },
});
const issuer = `http://127.0.0.1:${options.port}`;
const RESOURCE = "https://api.example.test";
const CLIENT = "native";

const { privateKey } = generateKeyPairSync("ed25519");
const jwk = { ...privateKey.export({ format: "jwk" }), alg: "EdDSA", use: "sig", kid: "bench-ed25519" };

const storage = new LRU({ maxSize: Math.max(1_000, 20 * options.sessions) });

const provider = new Provider(issuer, {
  adapter: (/** @type {string} */ model) => new MemoryAdapter(model, storage, 0),
  clients: [
    {
      client_id: CLIENT,
      application_type: "native",
      token_endpoint_auth_method: "none",
      // The only key is Ed25519, so ID tokens (none are issued here) would be EdDSA too.
      id_token_signed_response_alg: "EdDSA",
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      redirect_uris: ["http://127.0.0.1/callback"],
    },
  ],
  jwks: { keys: [jwk] },
  rotateRefreshToken: true,
  scopes: ["openid", "offline_access", "api"],
  routes: { token: "/oauth/token" },
  features: {
    devInteractions: { enabled: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: "api",
        accessTokenFormat: "jwt",
        accessTokenTTL: 300,
        jwt: { sign: { alg: "EdDSA" } },
      }),
    },
  },
  // Lifetimes set, as its notices ask: a refresh token for 14 days, as prolong's native one.
  ttl: { AccessToken: 300, Grant: 14 * 86_400, RefreshToken: 14 * 86_400 },
  findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
});
provider.on("server_error", (_ctx, error) => console.error(`oidc-provider server_error: ${error.message}`));

const client = await provider.Client.find(CLIENT);
if (!client) throw new Error("oidc-provider: the native client is not configured");
/** @type {string[]} */
const tokens = [];
for (let i = 0; i < options.sessions; i++) {
  const accountId = `bench-${i}`;
  const grant = new provider.Grant({ accountId, clientId: CLIENT });
  grant.addResourceScope(RESOURCE, "api");
  const grantId = await grant.save();
  const refreshToken = new provider.RefreshToken({
    accountId,
    client,
    grantId,
    gty: "authorization_code",
    authTime: Math.floor(Date.now() / 1000),
    resource: RESOURCE,
    scope: "api",
  });
  tokens.push(await refreshToken.save());
}
writeFileSync(/** @type {string} */ (options.tokens), JSON.stringify(tokens));

// Errors the bench provokes (a reused token at a slice's end) are answered, not logged.
provider.on("grant.error", () => {});
const server = createServer(provider.callback());
server.listen(options.port, "127.0.0.1", () => console.log(`oidc-provider listening on ${issuer}`));
// Keep-alive connections would hold close() open until they time out.
const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

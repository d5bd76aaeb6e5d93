// The session engine on its own, with the in-memory store: sign in, refresh,
// replay inside the grace window, then a replay too late, which is reuse.
// Run after `npm install`: node examples/engine.mjs
import { SessionEngine } from "@prolong/core";
import { MemoryStore } from "@prolong/store-memory";

let now = Date.now();
const engine = await SessionEngine.create({
  store: new MemoryStore(),
  issuer: "http://localhost:3000",
  clock: { now: () => now },
});

await engine.createAccount({ username: "maryo", password: "correct horse battery" });
const signedIn = await engine.signIn({
  username: "maryo",
  password: "correct horse battery",
  clientId: "native",
  deviceName: "Maryo's iPad",
});
console.log("signed in, session", signedIn.sessionId, "access token expires in", signedIn.expiresIn, "s");

// A refresh token is bound to its client (RFC 6749 §6): the client says who it is.
const refresh = (refreshToken) => engine.refresh({ refreshToken, clientId: "native" });
const refreshed = await refresh(signedIn.refreshToken);
const replayed = await refresh(signedIn.refreshToken);
console.log(
  "replay inside the grace window returns the same successor:",
  replayed.refreshToken === refreshed.refreshToken,
);

now += 60_000;
try {
  await refresh(signedIn.refreshToken);
} catch (error) {
  console.log("replay a minute later:", error.code);
}
try {
  await refresh(refreshed.refreshToken);
} catch (error) {
  console.log("the whole session is gone:", error.code);
}

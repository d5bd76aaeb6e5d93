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

await engine.createUser({ username: "maryo", password: "correct horse battery" });
const signedIn = await engine.signIn({
  username: "maryo",
  password: "correct horse battery",
  clientId: "native",
  deviceName: "Maryo's iPad",
});
console.log("signed in, session", signedIn.sessionId, "access token expires in", signedIn.expiresIn, "s");

const refreshed = await engine.refresh({ refreshToken: signedIn.refreshToken });
const replayed = await engine.refresh({ refreshToken: signedIn.refreshToken });
console.log(
  "replay inside the grace window returns the same successor:",
  replayed.refreshToken === refreshed.refreshToken,
);

now += 60_000;
try {
  await engine.refresh({ refreshToken: signedIn.refreshToken });
} catch (error) {
  console.log("replay a minute later:", error.code);
}
try {
  await engine.refresh({ refreshToken: refreshed.refreshToken });
} catch (error) {
  console.log("the whole session is gone:", error.code);
}

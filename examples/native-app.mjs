// A native app (here a Node script) signing in through an app's own login, as an iOS,
// Android or desktop app would: the refresh token comes back in the body, the app keeps
// it, and @prolong/client renews from it.
// With examples/express-own-login (or fastify-own-login) running:
//   node examples/native-app.mjs            (BASE=http://localhost:3002 for the Fastify one)
import { createSessionClient } from "@prolong/client";

const base = process.env.BASE ?? "http://localhost:3001";

// The app's own login, asked for a native session: both tokens in the answer.
const response = await fetch(`${base}/login`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({
    username: "ada",
    password: "analytical engine",
    client: "native",
    deviceName: "CLI",
  }),
});
if (!response.ok) throw new Error(`login answered ${response.status}`);
const { refresh_token } = await response.json();

// Keep the refresh token where the platform keeps secrets (Keychain, Keystore); here, memory.
let saved = refresh_token;
const storage = {
  get: () => saved,
  set: (token) => {
    saved = token;
  },
};
const client = createSessionClient({ issuer: `${base}/auth`, profile: "native", storage });
await client.start();

const me = await client.fetch(`${base}/api/me`);
console.log("GET /api/me:", me.status, JSON.stringify(await me.json()));
await client.refresh();
console.log("renewed; the saved refresh token rotated:", saved !== refresh_token);
await client.signOut();
console.log("signed out; saved refresh token:", saved);
client.stop();

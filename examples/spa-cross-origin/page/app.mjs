// The single-page app, on its own origin: it signs in through the API's login with
// `credentials: "include"` (so the browser keeps the refresh cookie the answer sets), then
// @prolong/client keeps the session alive against the API's origin.
import { createSessionClient } from "@prolong/client";

// API_ORIGIN is built in by the bundler (see spa.mjs), as SPAs take their API's address.
const api = API_ORIGIN;
const issuer = `${api}/auth`;
const client = createSessionClient({ issuer });
const $ = (id) => document.getElementById(id);

const log = (text) => $("log").append(Object.assign(document.createElement("li"), { textContent: text }));
client.on("refreshed", ({ source }) => log(`refreshed (${source})`));
client.on("signedOut", ({ reason }) => {
  log(`signed out (${reason})`);
  show(false);
});

$("signin").addEventListener("submit", async (event) => {
  event.preventDefault();
  const response = await fetch(`${api}/login`, {
    method: "POST",
    credentials: "include",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(Object.fromEntries(new FormData(event.currentTarget))),
  });
  if (response.ok) show(await client.start());
  else $("message").textContent = "Wrong username or password";
});

// The API is the issuer's origin, so client.fetch sends it the token. An API on yet
// another origin goes in createSessionClient's allowedOrigins.
async function callApi() {
  const response = await client.fetch(`${api}/api/me`);
  const body = await response.json();
  $("answer").textContent = `${response.status} ${JSON.stringify(body)}`;
  if (response.ok) $("hello").textContent = `Hello, ${body.name}`;
}

async function listDevices() {
  const { sessions } = await (await client.fetch(`${issuer}/sessions`)).json();
  $("devices").replaceChildren(
    ...sessions.map((session) => {
      const item = document.createElement("li");
      item.textContent = `${session.device_name ?? "unnamed"} `;
      if (session.current) item.append("(this device)");
      else item.append(button("Sign out", () => signOutDevice(session.id)));
      return item;
    }),
  );
}

async function signOutDevice(id) {
  await client.fetch(`${issuer}/sessions/${id}`, { method: "DELETE" });
  await listDevices();
}

function button(text, onClick) {
  const element = Object.assign(document.createElement("button"), { type: "button", textContent: text });
  element.addEventListener("click", onClick);
  return element;
}

function show(signedIn) {
  $("signin").hidden = signedIn;
  $("app").hidden = !signedIn;
  if (signedIn) void callApi().then(listDevices);
}

$("call").addEventListener("click", callApi);
$("signout").addEventListener("click", () => client.signOut());
show(await client.start());

// The browser side: the app's own login form, then @prolong/client keeps the session
// alive (renewals before expiry, a 401 retried once, other tabs told).
import { createSessionClient } from "@prolong/client";

const issuer = `${location.origin}/auth`;
const client = createSessionClient({ issuer });
const $ = (id) => document.getElementById(id);

const log = (text) => $("log").append(Object.assign(document.createElement("li"), { textContent: text }));
client.on("refreshed", ({ source }) => log(`refreshed (${source})`));
client.on("signedOut", ({ reason }) => {
  log(`signed out (${reason})`);
  show(false);
});

// Your login route checks the password and starts the session: its answer sets the
// refresh cookie, and client.start() picks the session up from there.
$("signin").addEventListener("submit", async (event) => {
  event.preventDefault();
  const response = await fetch("/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(Object.fromEntries(new FormData(event.currentTarget))),
  });
  if (response.ok) show(await client.start());
  else $("message").textContent = "Wrong username or password";
});

// client.fetch adds the access token, renewing it first when it is due.
async function callApi() {
  const response = await client.fetch("/api/me");
  const body = await response.json();
  $("answer").textContent = `${response.status} ${JSON.stringify(body)}`;
  if (response.ok) $("hello").textContent = `Hello, ${body.name}`;
}

// prolong's own routes list this user's sessions and end one on another device.
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

$("call").addEventListener("click", callApi);
$("signout").addEventListener("click", () => client.signOut());

// Your page's own way of showing the signed-in app or the login form.
function show(signedIn) {
  $("signin").hidden = signedIn;
  $("app").hidden = !signedIn;
  if (signedIn) void callApi().then(listDevices);
}

// On load: still signed in from an earlier visit? The cookie says.
show(await client.start());

// The demo page, on @prolong/client: the web profile keeps the refresh token in an
// httpOnly cookie, the access token in memory, and renews it before anyone notices.
import { createSessionClient, type RefreshSource } from "@prolong/client";

interface Device {
  id: string;
  current: boolean;
  device_name: string | null;
  user_agent: string | null;
  client_id: string;
  last_active_at: string;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

// Sign out after 15 minutes without a key press, click, scroll or touch in any tab;
// `?idle=SECONDS` shortens it to watch idle sign-out happen.
const idleSeconds = Number(new URLSearchParams(location.search).get("idle")) || 15 * 60;
const client = createSessionClient({
  issuer: location.origin,
  profile: "web",
  idleTimeout: idleSeconds * 1000,
});

type Entry = RefreshSource | "sign-in" | "signed out" | "error";
const LABELS: Partial<Record<Entry, string>> = {
  proactive: "proactive",
  reactive: "reactive",
  "soft-expiry": "soft expiry",
  resume: "resumed",
  "other-tab": "other tab",
  manual: "manual",
};

function log(kind: Entry, text: string) {
  const item = document.createElement("li");
  const tag = document.createElement("span");
  tag.className = `tag ${kind.replace(/[^a-z]/g, "")}`;
  tag.textContent = LABELS[kind] ?? kind;
  item.append(tag, ` ${new Date().toLocaleTimeString()} ${text}`);
  $("log").prepend(item);
}

function showClaims() {
  $("claims").textContent = JSON.stringify(client.claims, null, 2);
  tick();
}

client.on("authorized", () => {
  $("signin").hidden = true;
  $("app").hidden = false;
  showClaims();
  void loadDevices();
});
client.on("refreshed", ({ source }) => {
  showClaims();
  log(
    source,
    source === "other-tab" ? "another tab renewed; this tab made no request" : "this tab renewed the token",
  );
});
client.on("signedOut", ({ reason }) => {
  log("signed out", reason);
  $("app").hidden = true;
  $("signin").hidden = false;
});
client.on("error", ({ error }) => log("error", `${(error as Error).message}; retrying`));

async function loadDevices() {
  const response = await client.fetch("/sessions");
  if (!response.ok) return;
  const { sessions } = (await response.json()) as { sessions: Device[] };
  $("devices").replaceChildren(...sessions.map(deviceRow));
}

function deviceRow(device: Device): HTMLTableRowElement {
  const row = document.createElement("tr");
  row.dataset.session = device.id;
  const name = document.createElement("td");
  // The server names sessions nobody named from their user agent ("Chrome on Linux");
  // the raw agent is in `user_agent`, shown on hover.
  name.textContent = device.device_name ?? "Unknown device";
  if (device.user_agent) name.title = device.user_agent;
  if (device.current) {
    const badge = document.createElement("span");
    badge.className = "current";
    badge.textContent = "this device";
    name.append(badge);
  }
  const client_ = document.createElement("td");
  client_.textContent = device.client_id;
  const seen = document.createElement("td");
  seen.textContent = new Date(device.last_active_at).toLocaleString();
  const actions = document.createElement("td");
  actions.append(
    button("Rename", "small secondary", async () => {
      const deviceName = prompt("New device name", device.device_name ?? "");
      if (!deviceName) return;
      await client.fetch(`/sessions/${device.id}`, {
        method: "PATCH",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ device_name: deviceName }),
      });
      await loadDevices();
    }),
  );
  if (!device.current) {
    actions.append(
      " ",
      button("Revoke", "small danger", async () => {
        await client.fetch(`/sessions/${device.id}`, { method: "DELETE" });
        await loadDevices();
      }),
    );
  }
  row.append(name, client_, seen, actions);
  return row;
}

function button(label: string, className: string, onClick: () => Promise<void>): HTMLButtonElement {
  const element = document.createElement("button");
  element.type = "button";
  element.className = className;
  element.textContent = label;
  element.onclick = () => void onClick();
  return element;
}

function tick() {
  const claims = client.claims;
  if (!claims) return;
  const now = client.serverNow() / 1000;
  $("expires-in").textContent = `${Math.max(0, Math.round(claims.exp - now))} s`;
  $("rfa-in").textContent = `${Math.max(0, Math.round((claims.rfa ?? claims.exp) - now))} s`;
}

$("signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target as HTMLFormElement);
  try {
    await client.signIn({
      username: String(form.get("username")),
      password: String(form.get("password")),
      deviceName: String(form.get("device_name") ?? "") || undefined,
    });
    $("signin-error").textContent = "";
    log("sign-in", "signed in");
  } catch (error) {
    const status = (error as { status?: number }).status;
    $("signin-error").textContent = status === 401 ? "Wrong username or password." : (error as Error).message;
  }
});

$("call-api").addEventListener("click", async () => {
  const response = await client.fetch("/demo/api/hello");
  const result = $("api-result");
  if (response.ok) {
    const body = await response.json();
    result.textContent = `200 OK: ${body.message} (${body.at})`;
    result.className = "result ok";
  } else {
    result.textContent = `${response.status}: ${response.headers.get("www-authenticate") ?? ""}`;
    result.className = "result fail";
  }
});

$("refresh-now").addEventListener("click", () => void client.refresh("manual"));
$("revoke-others").addEventListener("click", async () => {
  await client.fetch("/sessions", { method: "DELETE" });
  await loadDevices();
});
$("logout").addEventListener("click", () => void client.signOut());
$("logout-everywhere").addEventListener("click", async () => {
  await client.fetch("/logout", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ everywhere: true }),
  });
  await client.signOut();
});
$("password-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target as HTMLFormElement);
  const response = await client.fetch("/password", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      current_password: form.get("current_password"),
      new_password: form.get("new_password"),
    }),
  });
  const body = await response.json();
  const result = $("password-result");
  result.textContent = response.ok
    ? `Password changed; ${body.revoked_other_sessions} other session(s) ended.`
    : (body.error_description ?? "failed");
  result.className = response.ok ? "result ok" : "result fail";
  if (response.ok) await loadDevices();
});

setInterval(tick, 1000);
// A reload, or a second tab, picks the session up from the cookie (or from another tab).
void client.start();
// For the browser tests: the client as the page uses it.
(globalThis as { prolongClient?: typeof client }).prolongClient = client;

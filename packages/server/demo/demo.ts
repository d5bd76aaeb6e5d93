// The demo page: signs in with the web profile (refresh token in an httpOnly cookie),
// keeps the access token in memory only, renews it ahead of expiry and on 401.

interface Claims {
  exp: number;
  iat: number;
  rfa: number;
  sid: string;
  [name: string]: unknown;
}

interface Device {
  id: string;
  current: boolean;
  device_name: string | null;
  user_agent: string | null;
  client_id: string;
  last_active_at: string;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

let accessToken: string | null = null;
let claims: Claims | null = null;
/** Server time minus device time, from the token's `iat`, so a wrong device clock does not matter. */
let clockOffsetMs = 0;
let renewTimer: ReturnType<typeof setTimeout> | undefined;
let renewing: Promise<boolean> | null = null;

const serverNow = () => Date.now() + clockOffsetMs;

function decodeClaims(token: string): Claims {
  const part = token.split(".")[1] ?? "";
  const json = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
  return JSON.parse(json) as Claims;
}

function log(kind: "sign-in" | "resume" | "proactive" | "reactive" | "manual" | "signed out", text: string) {
  const item = document.createElement("li");
  const tag = document.createElement("span");
  tag.className = `tag ${kind.replace(" ", "")}`;
  tag.textContent = kind;
  item.append(tag, ` ${new Date().toLocaleTimeString()} ${text}`);
  $("log").prepend(item);
}

function adopt(token: string) {
  accessToken = token;
  claims = decodeClaims(token);
  clockOffsetMs = claims.iat * 1000 - Date.now();
  $("claims").textContent = JSON.stringify(claims, null, 2);
  tick();
  schedule();
}

/** Renews at `rfa` (the server's refresh point) measured on the server's clock. */
function schedule() {
  clearTimeout(renewTimer);
  if (!claims) return;
  const delay = Math.max(0, claims.rfa * 1000 - serverNow());
  renewTimer = setTimeout(() => void renew("proactive"), Math.min(delay, 2 ** 31 - 1));
}

/** One refresh at a time; concurrent callers share it. */
function renew(kind: "proactive" | "reactive" | "manual" | "resume"): Promise<boolean> {
  renewing ??= (async () => {
    try {
      const response = await fetch("/oauth/token", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", "prolong-csrf": "1" },
        body: new URLSearchParams({ grant_type: "refresh_token", client_id: "web" }),
        credentials: "same-origin",
      });
      const body = await response.json();
      if (!response.ok) {
        // On page load no cookie simply means nobody is signed in yet.
        if (kind !== "resume") signedOut(body.prolong_error ?? body.error);
        return false;
      }
      adopt(body.access_token);
      log(kind, `new access token, expires in ${body.expires_in} s`);
      return true;
    } catch {
      log(kind, "network error; will retry");
      clearTimeout(renewTimer);
      renewTimer = setTimeout(() => void renew(kind), 5000);
      return false;
    } finally {
      renewing = null;
    }
  })();
  return renewing;
}

/** Calls a protected route; on 401 `invalid_token` refreshes once and retries once. */
async function api(path: string, init: RequestInit = {}, retried = false): Promise<Response> {
  const headers = new Headers(init.headers);
  if (accessToken) headers.set("authorization", `Bearer ${accessToken}`);
  const response = await fetch(path, { ...init, headers });
  if (
    response.status === 401 &&
    !retried &&
    /invalid_token/.test(response.headers.get("www-authenticate") ?? "")
  ) {
    if (await renew("reactive")) return api(path, init, true);
  }
  if (response.headers.get("prolong-refresh") === "soon") void renew("proactive");
  return response;
}

function signedOut(reason: string) {
  clearTimeout(renewTimer);
  accessToken = null;
  claims = null;
  log("signed out", reason);
  $("app").hidden = true;
  $("signin").hidden = false;
}

function showApp() {
  $("signin").hidden = true;
  $("app").hidden = false;
  void loadDevices();
}

async function loadDevices() {
  const response = await api("/sessions");
  if (!response.ok) return;
  const { sessions } = (await response.json()) as { sessions: Device[] };
  const rows = sessions.map((device) => {
    const row = document.createElement("tr");
    row.dataset.session = device.id;
    const name = document.createElement("td");
    name.textContent = device.device_name ?? device.user_agent?.slice(0, 40) ?? "unnamed device";
    if (device.current) {
      const badge = document.createElement("span");
      badge.className = "current";
      badge.textContent = "this device";
      name.append(badge);
    }
    const client = document.createElement("td");
    client.textContent = device.client_id;
    const seen = document.createElement("td");
    seen.textContent = new Date(device.last_active_at).toLocaleString();
    const actions = document.createElement("td");
    const rename = document.createElement("button");
    rename.className = "small secondary";
    rename.textContent = "Rename";
    rename.onclick = async () => {
      const deviceName = prompt("New device name", device.device_name ?? "");
      if (!deviceName) return;
      await api(`/sessions/${device.id}`, {
        method: "PATCH",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ device_name: deviceName }),
      });
      await loadDevices();
    };
    actions.append(rename);
    if (!device.current) {
      const revoke = document.createElement("button");
      revoke.className = "small danger";
      revoke.textContent = "Revoke";
      revoke.onclick = async () => {
        await api(`/sessions/${device.id}`, { method: "DELETE" });
        await loadDevices();
      };
      actions.append(" ", revoke);
    }
    row.append(name, client, seen, actions);
    return row;
  });
  $("devices").replaceChildren(...rows);
}

function tick() {
  if (claims) {
    const now = serverNow() / 1000;
    $("expires-in").textContent = `${Math.max(0, Math.round(claims.exp - now))} s`;
    $("rfa-in").textContent = `${Math.max(0, Math.round(claims.rfa - now))} s`;
  }
}

// A reload keeps the session: the cookie renews it without asking for the password.
const resumed = renew("resume").then((ok) => {
  if (ok) showApp();
});

$("signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target as HTMLFormElement);
  // Let the resume attempt settle first, so its answer cannot undo this sign-in.
  await resumed;
  const response = await fetch("/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      username: form.get("username"),
      password: form.get("password"),
      device_name: form.get("device_name") || undefined,
      client_id: "web",
    }),
  });
  const body = await response.json();
  if (!response.ok) {
    $("signin-error").textContent = response.status === 401 ? "Wrong username or password." : body.message;
    return;
  }
  $("signin-error").textContent = "";
  adopt(body.access_token);
  log("sign-in", `session ${body.session_id}`);
  showApp();
});

$("call-api").addEventListener("click", async () => {
  const response = await api("/demo/api/hello");
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

$("refresh-now").addEventListener("click", () => void renew("manual"));
$("revoke-others").addEventListener("click", async () => {
  await api("/sessions", { method: "DELETE" });
  await loadDevices();
});
$("logout").addEventListener("click", async () => {
  await api("/logout", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  signedOut("logout");
});
$("logout-everywhere").addEventListener("click", async () => {
  await api("/logout", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ everywhere: true }),
  });
  signedOut("logout everywhere");
});
$("password-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target as HTMLFormElement);
  const response = await api("/password", {
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
    : (body.message ?? "failed");
  result.className = response.ok ? "result ok" : "result fail";
  if (response.ok) await loadDevices();
});

// Timers stall in hidden tabs and during sleep: check again when the page comes back.
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && claims && serverNow() / 1000 >= claims.rfa)
    void renew("proactive");
});
setInterval(tick, 1000);

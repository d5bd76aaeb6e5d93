// The device list, rendered on the server from prolong's `GET /auth/sessions`, called
// in-process with the session's access token, as a browser or an app would call it.
import { Form, Link, redirect } from "react-router";
import { issuer, prolong } from "../prolong.server";
import { currentSession } from "../sessions.server";
import type { Route } from "./+types/devices";

interface Device {
  id: string;
  current: boolean;
  device_name: string | null;
  user_agent: string | null;
  last_active_at: string;
}

/** prolong's sessions API for the signed-in user: `GET` lists, `DELETE /:id` signs a device out. */
function sessionsApi(accessToken: string, method: "GET" | "DELETE", id?: string): Promise<Response> {
  const path = id === undefined ? "/sessions" : `/sessions/${encodeURIComponent(id)}`;
  return prolong.fetch(
    new Request(`${issuer}${path}`, { method, headers: { authorization: `Bearer ${accessToken}` } }),
  );
}

export async function loader({ context }: Route.LoaderArgs) {
  const session = currentSession(context);
  if (!session) throw redirect("/login");
  const answer = await sessionsApi(session.accessToken, "GET");
  // Revoked since the access token was issued: this render is signed out too.
  if (answer.status === 401) throw redirect("/login");
  if (!answer.ok) throw new Response("The device list is unavailable", { status: 503 });
  const { sessions } = (await answer.json()) as { sessions: Device[] };
  return { devices: sessions };
}

export async function action({ request, context }: Route.ActionArgs) {
  const session = currentSession(context);
  if (!session) throw redirect("/login", 303);
  const id = (await request.formData()).get("id");
  if (typeof id !== "string" || id === "")
    throw new Response("id: a session id is required", { status: 400 });
  const answer = await sessionsApi(session.accessToken, "DELETE", id);
  if (!answer.ok && answer.status !== 404) {
    throw new Response("The device could not be signed out", { status: answer.status === 401 ? 401 : 503 });
  }
  return redirect("/devices", 303);
}

export function meta() {
  return [{ title: "Devices · prolong with React Router" }];
}

export default function Devices({ loaderData }: Route.ComponentProps) {
  return (
    <main>
      <h1>Your devices</h1>
      <ul id="devices">
        {loaderData.devices.map((device) => (
          <li key={device.id} data-session={device.id} data-current={device.current ? "true" : undefined}>
            <span className="device-name">{device.device_name ?? "Unnamed device"}</span>
            {device.current ? (
              " (this device)"
            ) : (
              <Form method="post">
                <input type="hidden" name="id" value={device.id} />
                <button type="submit" className="revoke">
                  Sign out this device
                </button>
              </Form>
            )}
          </li>
        ))}
      </ul>
      <Link to="/">Home</Link>
    </main>
  );
}

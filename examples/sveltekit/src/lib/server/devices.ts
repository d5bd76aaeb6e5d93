// The device list, from prolong's own API called in-process with the session's access
// token: the same `GET /auth/sessions` a browser client calls, no HTTP hop.
import { error } from "@sveltejs/kit";
import { issuer, prolong } from "./prolong";

/** One device as `GET /auth/sessions` describes it. */
export interface Device {
  id: string;
  current: boolean;
  device_name: string | null;
  user_agent: string | null;
  created_at: string;
  last_active_at: string | null;
}

async function call(method: string, path: string, accessToken: string): Promise<Response> {
  const request = new Request(`${issuer}${path}`, {
    method,
    headers: { authorization: `Bearer ${accessToken}` },
  });
  return (await prolong()).fetch(request);
}

/** The signed-in user's sessions, this one marked `current`. */
export async function listDevices(accessToken: string): Promise<Device[]> {
  const response = await call("GET", "/sessions", accessToken);
  if (!response.ok) error(response.status === 401 ? 401 : 502, "could not list the devices");
  const body = (await response.json()) as { sessions: Device[] };
  return body.sessions;
}

/** Signs one of the user's other devices out: its next renewal fails, its next render is signed out. */
export async function revokeDevice(accessToken: string, id: string): Promise<void> {
  const response = await call("DELETE", `/sessions/${encodeURIComponent(id)}`, accessToken);
  if (response.status !== 204) error(response.status === 404 ? 404 : 502, "could not sign that device out");
}

// The user's devices, server-rendered from prolong's `GET /auth/sessions` called in-process
// with the session's access token: the same answer a browser would get from the API.
import { cookies } from "next/headers";
import Link from "next/link";
import { redirect } from "next/navigation";
import { callProlong, sessions } from "../../lib/sessions";

export const dynamic = "force-dynamic";

interface Device {
  id: string;
  current: boolean;
  device_name: string | null;
  user_agent: string | null;
  last_active_at: string;
}

export default async function DevicesPage() {
  const session = await sessions.getSession(await cookies());
  if (!session) redirect("/login?next=/devices");
  const answer = await callProlong(session.accessToken, "/sessions");
  // The token was checked here a moment ago; prolong refusing it means it was revoked since.
  if (answer.status === 401) redirect("/login?next=/devices");
  if (!answer.ok) throw new Error(`GET /auth/sessions answered ${answer.status}`);
  const { sessions: devices } = (await answer.json()) as { sessions: Device[] };
  return (
    <main>
      <h1>Your devices</h1>
      <ul>
        {devices.map((device) => (
          <li key={device.id} data-session={device.id}>
            {device.device_name ?? device.user_agent ?? "unnamed device"}
            {device.current ? " (this device)" : null}, last active {device.last_active_at}
            {device.current ? null : (
              <form method="post" action="/devices/revoke" style={{ display: "inline" }}>
                <input type="hidden" name="id" value={device.id} />
                <button type="submit">Sign out</button>
              </form>
            )}
          </li>
        ))}
      </ul>
      <Link href="/">Home</Link>
    </main>
  );
}

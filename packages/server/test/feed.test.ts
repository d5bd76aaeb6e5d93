import { afterEach, describe, expect, it } from "vitest";
import { bearer, login, RESOURCE_SECRET, type TestApp, testApp } from "./fixtures.js";

let current: TestApp | null = null;
afterEach(async () => {
  await current?.app.close();
  current = null;
});

/** Reads Server-Sent Events from a live response until `count` events arrived. */
async function readEvents(response: Response, count: number): Promise<{ event: string; data: unknown }[]> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const events: { event: string; data: unknown }[] = [];
  let buffer = "";
  while (events.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end = buffer.indexOf("\n\n");
    while (end >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event && data) events.push({ event, data: JSON.parse(data) });
      end = buffer.indexOf("\n\n");
    }
  }
  await reader.cancel();
  return events;
}

describe("revocation feed", () => {
  it("refuses callers that are not resource servers", async () => {
    current = await testApp();
    const response = await current.app.inject({ method: "GET", url: "/revocations/feed" });
    expect(response.statusCode).toBe(401);
    const wrong = await current.app.inject({
      method: "GET",
      url: "/revocations/feed",
      headers: bearer("not-the-secret"),
    });
    expect(wrong.statusCode).toBe(401);
  });

  it("sends a snapshot of recent revocations, then each revocation and version bump as it happens", async () => {
    current = await testApp();
    const { app, engine, user } = current;
    const before = await login(app);
    await app.inject({
      method: "POST",
      url: "/logout",
      headers: bearer(before.body.access_token as string),
      payload: {},
    });
    const live = await login(app);

    const address = await app.listen({ port: 0, host: "127.0.0.1" });
    const response = await fetch(`${address}/revocations/feed`, { headers: bearer(RESOURCE_SECRET) });
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const reading = readEvents(response, 3);
    // Let the snapshot go out before the live events happen.
    await new Promise((r) => setTimeout(r, 100));
    await engine.logout(live.body.session_id as string);
    await engine.logoutEverywhere(user.id);
    const [snapshot, revoked, version] = await reading;

    expect(snapshot?.event).toBe("snapshot");
    const snap = snapshot?.data as { sessions: { sid: string; exp: number }[]; at: number };
    expect(snap.sessions.map((s) => s.sid)).toEqual([before.body.session_id]);
    expect(snap.sessions[0]?.exp).toBeGreaterThanOrEqual(snap.at + 300);
    expect(revoked).toEqual({
      event: "revoked",
      data: { sid: live.body.session_id, sub: user.id, exp: expect.any(Number) },
    });
    expect(version).toEqual({ event: "version", data: { sub: user.id, ver: 1, exp: expect.any(Number) } });
  });
});

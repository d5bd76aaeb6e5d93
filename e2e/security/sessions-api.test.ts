import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAccount, refresh, type SignedIn, signIn, startTarget, type Target } from "./target.js";

/**
 * The sessions API (`/sessions`, docs/protocol.md) of a real server process, from the
 * side of a signed-in user who tries to reach other users' sessions, and who names
 * devices to hide or reorder what is shown around the name.
 */

const PASSWORD = "correct horse battery staple";

/** Control characters, bidi embeddings, overrides, isolates and marks, zero-width characters. */
function hidden(character: string): boolean {
  const c = character.codePointAt(0) as number;
  return (
    c < 0x20 ||
    (c >= 0x7f && c <= 0x9f) ||
    (c >= 0x202a && c <= 0x202e) ||
    (c >= 0x2066 && c <= 0x2069) ||
    [0x061c, 0x200b, 0x200c, 0x200d, 0x200e, 0x200f, 0x2060, 0xfeff].includes(c)
  );
}

interface Answer {
  status: number;
  body: unknown;
}

describe("the sessions API of a real server", () => {
  let target: Target;
  let alice: SignedIn;
  let aliceNative: SignedIn & { refresh_token: string };
  let bob: SignedIn & { refresh_token: string };

  const call = async (token: string, method: string, path: string, body?: unknown): Promise<Answer> => {
    const response = await fetch(`${target.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  };

  beforeAll(async () => {
    target = await startTarget();
    await createAccount(target, "alice", PASSWORD);
    await createAccount(target, "bob", PASSWORD);
    alice = await signIn(target, {
      username: "alice",
      password: PASSWORD,
      client_id: "web",
      device_name: "Alice's laptop",
    });
    aliceNative = (await signIn(target, {
      username: "alice",
      password: PASSWORD,
      client_id: "native",
      device_name: "Alice's phone",
    })) as SignedIn & { refresh_token: string };
    bob = (await signIn(target, {
      username: "bob",
      password: PASSWORD,
      client_id: "native",
      device_name: "Bob's phone",
    })) as SignedIn & {
      refresh_token: string;
    };
  }, 60_000);
  afterAll(() => target?.stop());

  it("never reaches another user's session: 404 not_found, the same answer as for a session that does not exist", async () => {
    const notFound = { status: 404, body: { error: "not_found", error_description: expect.any(String) } };
    const unknown = "AAAAAAAAAAAAAAAAAAAAAA";
    const attempts = {
      "rename bob's session": await call(alice.access_token, "PATCH", `/sessions/${bob.session_id}`, {
        device_name: "pwned",
      }),
      "revoke bob's session": await call(alice.access_token, "DELETE", `/sessions/${bob.session_id}`),
      "rename an unknown session": await call(alice.access_token, "PATCH", `/sessions/${unknown}`, {
        device_name: "pwned",
      }),
      "revoke an unknown session": await call(alice.access_token, "DELETE", `/sessions/${unknown}`),
      "revoke a path that climbs to the admin API": await call(
        alice.access_token,
        "DELETE",
        "/sessions/..%2F..%2Fadmin%2Fkeys",
      ),
      "revoke a session id with NUL": await call(alice.access_token, "DELETE", "/sessions/%00"),
    };
    expect(attempts).toEqual(Object.fromEntries(Object.keys(attempts).map((name) => [name, notFound])));
    // Unknown and someone else's answer word for word alike: the answer tells no id apart.
    expect(attempts["revoke bob's session"].body).toEqual(attempts["revoke an unknown session"].body);
    expect(attempts["rename bob's session"].body).toEqual(attempts["rename an unknown session"].body);
    expect(await call(alice.access_token, "DELETE", `/sessions/${"a".repeat(3_061)}`)).toEqual({
      status: 414,
      body: { error: "invalid_request", error_description: expect.any(String) },
    });

    // The list is the caller's own sessions; "sign out the others" ends only the caller's.
    const listed = (await call(alice.access_token, "GET", "/sessions")) as {
      status: number;
      body: { sessions: { id: string }[] };
    };
    expect(listed.status).toBe(200);
    expect(listed.body.sessions.map((s) => s.id).sort()).toEqual(
      [alice.session_id, aliceNative.session_id].sort(),
    );
    expect(await call(alice.access_token, "DELETE", "/sessions")).toEqual({
      status: 200,
      body: { revoked: 1 },
    });

    // An access token is no admin token.
    const admin = await fetch(`${target.url}/admin/sessions/${bob.session_id}`, {
      headers: { authorization: `Bearer ${alice.access_token}` },
    });
    expect(admin.status).toBe(401);
    expect(((await admin.json()) as { error: string }).error).toBe("unauthorized");

    // Bob's session is as it was: named as he named it, and it refreshes.
    const seen = await target.admin("GET", `/sessions/${bob.session_id}`);
    expect(await seen.json()).toMatchObject({ device_name: "Bob's phone", state: "live" });
    expect((await refresh(target, bob.refresh_token)).status).toBe(200);
  });

  it("takes the access token from the Authorization header only (RFC 6750 §2.1)", async () => {
    const inQuery = await fetch(`${target.url}/sessions?access_token=${alice.access_token}`);
    expect(inQuery.status).toBe(400);
    expect(inQuery.headers.get("www-authenticate")).toBe('Bearer realm="prolong", error="invalid_request"');
    expect(((await inQuery.json()) as { error: string }).error).toBe("invalid_request");
    const both = await fetch(`${target.url}/sessions?access_token=${alice.access_token}`, {
      headers: { authorization: `Bearer ${alice.access_token}` },
    });
    expect(both.status).toBe(400);
    const basic = await fetch(`${target.url}/sessions`, {
      headers: { authorization: `Basic ${Buffer.from(`alice:${PASSWORD}`).toString("base64")}` },
    });
    // Another scheme is no bearer credential at all (RFC 6750 §3.1): the bare challenge.
    expect({ status: basic.status, challenge: basic.headers.get("www-authenticate") }).toEqual({
      status: 401,
      challenge: 'Bearer realm="prolong"',
    });
    expect(((await basic.json()) as { error: string }).error).toBe("unauthorized");
    const none = await fetch(`${target.url}/sessions`);
    expect({ status: none.status, challenge: none.headers.get("www-authenticate") }).toEqual({
      status: 401,
      challenge: 'Bearer realm="prolong"',
    });
    expect(((await none.json()) as { error: string }).error).toBe("unauthorized");
  });

  it("stores hostile device names cleaned, and lists them as JSON strings", async () => {
    const cases: [string, string, string | null][] = [
      ["control characters and an ANSI escape", "Lap\u0000top\u0007\u001b[2J", "Laptop[2J"],
      ["a line break", "line one\nline two\r", "line oneline two"],
      ["a right-to-left override (CVE-2021-42574)", "\u202Egnp.exe\u202C", "gnp.exe"],
      ["isolates and marks", "a\u2066b\u2069c\u200Ed\u200Fe\u061C", "abcde"],
      ["zero-width characters", "i\u200Bp\u200Ch\u2060o\uFEFFne", "iphone"],
      [
        "an emoji sequence, whose joiner stays",
        "\u{1F469}\u200D\u{1F4BB} laptop",
        "\u{1F469}\u200D\u{1F4BB} laptop",
      ],
      // A name with nothing visible counts as none: the session is named from its agent.
      ["nothing visible", "\u200B\u202E\u2066 \u200D", "Firefox on Linux"],
      ["200 characters, cut to 100", "x".repeat(200), "x".repeat(100)],
      ["markup, kept as text", '<img src=x onerror="alert(1)">', '<img src=x onerror="alert(1)">'],
    ];
    const stored: Record<string, unknown> = {};
    for (const [name, deviceName] of cases) {
      const session = await signIn(
        target,
        { username: "alice", password: PASSWORD, client_id: "native", device_name: deviceName },
        { "user-agent": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0" },
      );
      const listed = await fetch(`${target.url}/sessions`, {
        headers: { authorization: `Bearer ${session.access_token}` },
      });
      const { sessions } = (await listed.json()) as {
        sessions: { id: string; device_name: string | null }[];
      };
      // No control, bidi or zero-width character in any name listed (a joiner in an emoji aside).
      const names = sessions.map((s) => (s.device_name ?? "").replaceAll("\u200D\u{1F4BB}", ""));
      expect(
        names.flatMap((n) => [...n].filter(hidden)),
        name,
      ).toEqual([]);
      const mine = sessions.find((s) => s.id === session.session_id);
      stored[name] = mine?.device_name;
    }
    expect(stored).toEqual(Object.fromEntries(cases.map(([name, , cleaned]) => [name, cleaned])));
  });

  it("refuses device names over 200 characters, and renames to nothing visible, naming device_name", async () => {
    const long = await fetch(`${target.url}/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "alice", password: PASSWORD, device_name: "x".repeat(10_000) }),
    });
    expect({ status: long.status, body: await long.json() }).toEqual({
      status: 400,
      body: { error: "invalid_request", error_description: "device_name: at most 200 characters" },
    });
    const session = await signIn(target, { username: "alice", password: PASSWORD, client_id: "native" });
    const path = `/sessions/${session.session_id}`;
    expect(await call(session.access_token, "PATCH", path, { device_name: "x".repeat(10_000) })).toEqual({
      status: 400,
      body: { error: "invalid_request", error_description: "device_name: at most 200 characters" },
    });
    expect(await call(session.access_token, "PATCH", path, { device_name: "\u200B\u202E\u0000" })).toEqual({
      status: 400,
      body: { error: "invalid_request", error_description: expect.stringMatching(/^device_name: /) },
    });
    const renamed = await call(session.access_token, "PATCH", path, {
      device_name: "\u202Eevil\u202C\u0000 name",
    });
    expect(renamed).toEqual({
      status: 200,
      body: expect.objectContaining({ id: session.session_id, device_name: "evil name" }),
    });
    // The administrator sees the cleaned name too, and so does a backend's session.
    expect(await (await target.admin("GET", `/sessions/${session.session_id}`)).json()).toMatchObject({
      device_name: "evil name",
    });
    const started = await target.admin("POST", "/sessions", {
      user_id: "user-42",
      client_id: "native",
      device_name: "\u202Ebackend\u0007",
    });
    const { session_id } = (await started.json()) as { session_id: string };
    expect(await (await target.admin("GET", `/sessions/${session_id}`)).json()).toMatchObject({
      device_name: "backend",
    });
  });
});

import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, bearer, login, PASSWORD, type TestApp, testApp } from "./fixtures.js";

const admin = bearer(ADMIN_TOKEN);

/** Sends a JSON body and returns the status and the parsed answer. */
async function send(
  t: TestApp,
  method: "POST" | "PATCH" | "PUT",
  url: string,
  payload: unknown,
  headers: Record<string, string> = {},
) {
  const response = await t.app.inject({
    method,
    url,
    headers: { "content-type": "application/json", ...headers },
    payload: typeof payload === "string" ? payload : JSON.stringify(payload),
  });
  return {
    status: response.statusCode,
    body: response.json() as { error: string; error_description: string },
  };
}

describe("validation errors name the field at fault", () => {
  it("at POST /login: unknown fields, missing fields, a too-long device name", async () => {
    const t = await testApp();
    expect(await send(t, "POST", "/login", { usernme: "maryo", password: PASSWORD })).toEqual({
      status: 400,
      body: { error: "invalid_request", error_description: "usernme: unknown field; username: required" },
    });
    expect(
      (
        await send(t, "POST", "/login", {
          username: "maryo",
          password: PASSWORD,
          device_name: "x".repeat(201),
        })
      ).body.error_description,
    ).toBe("device_name: at most 200 characters");
    expect(
      (await send(t, "POST", "/login", { username: "maryo", password: 42 })).body.error_description,
    ).toBe("password: must be a string");
    expect((await send(t, "POST", "/login", [])).body.error_description).toBe("body: must be a JSON object");
  });

  it("never echoes the value of a field", async () => {
    const t = await testApp();
    const secret = "my very secret password that is far too long".repeat(30);
    const { body } = await send(t, "POST", "/login", { username: "maryo", password: secret });
    expect(body.error_description).toBe("password: at most 1024 characters");
  });

  it("at PATCH /sessions/:id, POST /logout and POST /password", async () => {
    const t = await testApp();
    const { body: tokens } = await login(t.app);
    const auth = bearer(tokens.access_token as string);
    const rename = `/sessions/${tokens.session_id}`;
    expect((await send(t, "PATCH", rename, { name: "phone" }, auth)).body.error_description).toBe(
      "name: unknown field; device_name: required",
    );
    expect(
      (await send(t, "PATCH", rename, { device_name: "x".repeat(201) }, auth)).body.error_description,
    ).toBe("device_name: at most 200 characters");
    expect((await send(t, "POST", "/logout", { everywhere: "yes" }, auth)).body.error_description).toBe(
      "everywhere: must be true or false",
    );
    expect((await send(t, "POST", "/logout", { all: true }, auth)).body.error_description).toBe(
      "all: unknown field",
    );
    expect((await send(t, "POST", "/password", { current_password: PASSWORD }, auth)).body).toEqual({
      error: "invalid_request",
      error_description: "new_password: required",
    });
  });

  it("at every admin route that takes a body", async () => {
    const t = await testApp();
    expect((await send(t, "POST", "/admin/subjects", { id: "u1", username: "bob" }, admin)).body).toEqual({
      error: "invalid_request",
      error_description: "id: unknown field",
    });
    expect((await send(t, "POST", "/admin/subjects", { claims: [] }, admin)).body.error_description).toBe(
      "username: required; claims: must be a JSON object",
    );
    const user = `/admin/subjects/${t.user.id}`;
    expect((await send(t, "PUT", `${user}/claims`, ["reader"], admin)).body.error_description).toBe(
      "body: must be a JSON object",
    );
    expect((await send(t, "PUT", `${user}/password`, { pasword: "x" }, admin)).body.error_description).toBe(
      "pasword: unknown field; password: required",
    );
    expect(
      (await send(t, "POST", "/admin/sessions", { user: t.user.id, device_name: 7 }, admin)).body
        .error_description,
    ).toBe("user: unknown field; user_id: required; device_name: must be a string");
  });

  it("refuses a JSON body holding __proto__ or constructor.prototype, saying so", async () => {
    const t = await testApp();
    const proto = await send(
      t,
      "POST",
      "/login",
      '{"username":"maryo","password":"x","__proto__":{"admin":true}}',
    );
    expect(proto.status).toBe(400);
    expect(proto.body).toEqual({
      error: "invalid_request",
      error_description: "body: a key named __proto__ is refused, as it could alter object prototypes",
    });
    const ctor = await send(
      t,
      "POST",
      "/admin/subjects",
      '{"username":"x","claims":{"constructor":{"prototype":{}}}}',
      admin,
    );
    expect(ctor.body.error_description).toContain("constructor.prototype is refused");
    expect((await send(t, "POST", "/login", '{"username":')).body).toEqual({
      error: "invalid_request",
      error_description: "body: not valid JSON",
    });
  });
});

describe("device names at the routes", () => {
  it("are cleaned on sign-in; an invisible one counts as none, and the user agent names the session", async () => {
    const t = await testApp();
    const agent =
      "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";
    const signIn = (device_name: string) =>
      t.app.inject({
        method: "POST",
        url: "/login",
        headers: { "user-agent": agent },
        payload: { username: "maryo", password: PASSWORD, device_name },
      });
    const named = await signIn("\u202Ephone\u200B");
    await signIn("\u200B\u2066 ");
    const list = await t.app.inject({
      method: "GET",
      url: "/sessions",
      headers: bearer(named.json().access_token as string),
    });
    const sessions = list.json().sessions as { device_name: string | null; user_agent: string | null }[];
    expect(sessions.map((s) => s.device_name).sort()).toEqual(["Safari on iPhone", "phone"]);
    // The raw agent is kept beside the name.
    expect(sessions.map((s) => s.user_agent)).toEqual([agent, agent]);
  });

  it("refuse a rename to a name that is empty once cleaned, naming device_name", async () => {
    const t = await testApp();
    const { body: tokens } = await login(t.app);
    const auth = bearer(tokens.access_token as string);
    const empty = await send(
      t,
      "PATCH",
      `/sessions/${tokens.session_id}`,
      { device_name: "\u200B\u202E " },
      auth,
    );
    expect(empty.status).toBe(400);
    expect(empty.body.error_description).toMatch(/^device_name: must hold a visible character/);
    const cut = await send(
      t,
      "PATCH",
      `/sessions/${tokens.session_id}`,
      { device_name: `${"a".repeat(99)}😀` },
      auth,
    );
    expect(cut.status).toBe(200);
    expect((cut.body as unknown as { device_name: string }).device_name).toBe("a".repeat(99));
  });
});

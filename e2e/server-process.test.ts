import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SessionEngine } from "@prolong/core";
import { configSettings } from "@prolong/server";
import { openSqliteStore } from "@prolong/store-sqlite";
import { afterEach, describe, expect, it } from "vitest";
import {
  freePort,
  type RunningServer,
  readResourceSecret,
  runCli,
  startServerProcess,
} from "./server-process.js";

let server: RunningServer | null = null;
afterEach(async () => {
  await server?.stop();
  server = null;
});

const form = (fields: Record<string, string>) => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams(fields),
});

describe("the server process, started as npm start starts it", () => {
  it("creates its database, prints a demo user, signs in, refreshes, revokes and stops cleanly", async () => {
    server = await startServerProcess(["--demo"]);
    expect(server.demoPassword).toBeTruthy();
    const login = await fetch(`${server.url}/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "demo", password: server.demoPassword, client_id: "native" }),
    });
    expect(login.status).toBe(200);
    const tokens = await login.json();

    const refreshed = await fetch(
      `${server.url}/oauth/token`,
      form({ grant_type: "refresh_token", refresh_token: tokens.refresh_token, client_id: "native" }),
    );
    expect(refreshed.status).toBe(200);
    const next = await refreshed.json();

    const hello = await fetch(`${server.url}/demo/api/hello`, {
      headers: { authorization: `Bearer ${next.access_token}` },
    });
    expect(hello.status).toBe(200);

    expect((await fetch(`${server.url}/oauth/revoke`, form({ token: next.refresh_token }))).status).toBe(200);
    const after = await fetch(
      `${server.url}/oauth/token`,
      form({ grant_type: "refresh_token", refresh_token: next.refresh_token, client_id: "native" }),
    );
    expect((await after.json()).prolong_error).toBe("session_revoked");

    expect((await fetch(`${server.url}/`)).headers.get("content-type")).toContain("text/html");
    expect(await server.stop()).toBe(0);
  });

  it("keeps users, sessions and keys across a restart on the same database", async () => {
    const dir = mkdtempSync(join(tmpdir(), "prolong-restart-"));
    const store = `sqlite:${join(dir, "prolong.db")}`;
    try {
      server = await startServerProcess(["--store", store, "--demo"]);
      const password = server.demoPassword;
      const jwks = await (await fetch(`${server.url}/.well-known/jwks.json`)).json();
      await server.stop();

      server = await startServerProcess(["--store", store, "--demo"]);
      expect(server.demoPassword).toBeNull();
      const again = await (await fetch(`${server.url}/.well-known/jwks.json`)).json();
      expect(again).toEqual(jwks);
      const login = await fetch(`${server.url}/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: "demo", password }),
      });
      expect(login.status).toBe(200);
    } finally {
      await server?.stop();
      server = null;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("finishes an in-flight request when told to stop", async () => {
    // At debug, where the server logs each request as it comes in.
    server = await startServerProcess(["--demo"], { PROLONG_LOG_LEVEL: "debug" });
    const running = server;
    // A sign-in spends real scrypt time; stop once the server logged that it has the request.
    const pending = fetch(`${server.url}/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "demo", password: server.demoPassword }),
    });
    await expect
      .poll(() => /"url":"\/login"[^\n]*incoming request/.test(running.stdout()), { interval: 2 })
      .toBe(true);
    const stopped = server.stop();
    const answer = await pending;
    expect(answer.status, await answer.clone().text()).toBe(200);
    expect(await stopped).toBe(0);
  });
});

describe("the server process, started plainly", () => {
  it("has no demo: no demo user, no demo page, no demo API", async () => {
    server = await startServerProcess();
    expect(server.stdout()).not.toMatch(/demo/i);
    expect((await fetch(`${server.url}/`)).status).toBe(404);
    expect((await fetch(`${server.url}/assets/demo.js`)).status).toBe(404);
    expect((await fetch(`${server.url}/demo/api/hello`)).status).toBe(404);
    const users = await runCli(["users", "list"], { cwd: server.dir });
    expect(users.code).toBe(0);
    expect(users.stdout).toBe("");
  });

  it("turns the demo on with PROLONG_DEMO=1", async () => {
    server = await startServerProcess([], { PROLONG_DEMO: "1" });
    expect(server.demoPassword).toBeTruthy();
    expect((await fetch(`${server.url}/`)).headers.get("content-type")).toContain("text/html");
    expect((await fetch(`${server.url}/demo/api/hello`)).status).toBe(401);
  });

  it("prints the issuer's URL and never the resource-server secret, which the CLI reads", async () => {
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    server = await startServerProcess(["--port", String(port), "--issuer", issuer]);
    const printed = server.stdout();
    expect(printed).toContain(`prolong is up at ${issuer} (listening on 127.0.0.1:${port}`);
    expect(printed).not.toContain("http://localhost");
    expect(printed).toContain("prolong secrets resource");

    const secret = await readResourceSecret(server);
    expect(secret.length).toBeGreaterThanOrEqual(16);
    expect(printed).not.toContain(secret);
    const introspect = (credential: string) =>
      fetch(`${server?.url}/oauth/introspect`, {
        method: "POST",
        headers: {
          authorization: `Basic ${Buffer.from(`resource:${credential}`).toString("base64")}`,
          "content-type": "application/x-www-form-urlencoded",
        },
        body: new URLSearchParams({ token: "not-a-token" }),
      });
    const accepted = await introspect(secret);
    expect(accepted.status).toBe(200);
    expect(await accepted.json()).toEqual({ active: false });
    expect((await introspect(`${secret}x`)).status).toBe(401);
    // Read again, it is the same secret: it is kept, not made anew.
    expect(await readResourceSecret(server)).toBe(secret);
  });
});

// Each test here runs the command many times, a process each: on a loaded machine a run
// takes a second or more, so these get a budget beyond the default.
describe("the command line", { timeout: 90_000 }, () => {
  it("exits non-zero naming a bad or unknown setting", async () => {
    const bad = await runCli(["serve", "--port", "99999"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("port");
    const unknown = await runCli(["serve"], { env: { PROLONG_PROT: "3000" } });
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain(
      "PROLONG_PROT: unknown environment variable; did you mean PROLONG_PORT?",
    );
    const unknownStore = await runCli(["serve", "--store", "mysql://localhost/prolong"]);
    expect(unknownStore.code).not.toBe(0);
    expect(unknownStore.stderr).toContain('store: "mysql" is not a known store');
    const portZero = await runCli(["serve", "--port", "0"]);
    expect(portZero.code).not.toBe(0);
    expect(portZero.stderr).toContain("issuer");
    const flag = await runCli(["serve", "--prot", "3000"]);
    expect(flag.code).not.toBe(0);
    expect(flag.stderr).toContain("--prot");
  });

  it("rejects a config file with a misspelt key, naming it and the nearest valid ones", async () => {
    const dir = mkdtempSync(join(tmpdir(), "prolong-config-"));
    try {
      writeFileSync(
        join(dir, "config.json"),
        JSON.stringify({ port: 3000, accesTokenTtl: 60, profiles: { web: { idleTimeot: 5 } } }),
      );
      const result = await runCli(["serve", "--config", "config.json", "--store", "memory:"], { cwd: dir });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(
        "accesTokenTtl: unknown setting; did you mean profiles.<name>.accessTokenTtl?",
      );
      expect(result.stderr).toContain("profiles.web.idleTimeot: unknown setting; did you mean idleTimeout?");
      expect(result.stdout).not.toContain("listening");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("has the serve flags the configuration reference lists", async () => {
    const help = await runCli(["serve", "--help"]);
    const flags = [...help.stdout.matchAll(/^ {2}(?:-\w, )?(--[\w-]+(?: <\w+>)?)/gm)].map((m) => m[1]);
    const documented = configSettings.flatMap((s) => (s.doc.flag ? [s.doc.flag] : []));
    expect(flags.sort()).toEqual([...documented, "--config <file>", "--help"].sort());
    // --workers refuses only a memory: store (each process would hold its own).
    expect(help.stdout.replace(/\s+/g, " ")).toContain("1 to 64 (default 1); not with a memory: store");
  });

  it("refuses a duration beyond its bound, naming the setting, before it listens", async () => {
    const dir = mkdtempSync(join(tmpdir(), "prolong-config-"));
    try {
      writeFileSync(join(dir, "config.json"), JSON.stringify({ profiles: { web: { idleTimeout: 1e13 } } }));
      const result = await runCli(["serve", "--config", "config.json", "--store", "memory:"], { cwd: dir });
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain("profiles.web.idleTimeout: must be at most 315360000 s (10 years)");
      expect(result.stdout).not.toContain("listening");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("manages users, sessions and keys on the store", async () => {
    const dir = mkdtempSync(join(tmpdir(), "prolong-cli-"));
    const store = ["--store", `sqlite:${join(dir, "p.db")}`];
    try {
      const add = await runCli(["users", "add", "Maryo", "--password", "correct horse battery", ...store]);
      expect(add.code).toBe(0);
      expect(add.stdout).toContain("created user maryo");
      expect((await runCli(["users", "add", "maryo", ...store])).code).not.toBe(0);

      server = await startServerProcess(["--store", `sqlite:${join(dir, "p.db")}`]);
      const login = await fetch(`${server.url}/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          username: "maryo",
          password: "correct horse battery",
          device_name: "cli test",
        }),
      });
      expect(login.status).toBe(200);
      const { session_id } = await login.json();

      const list = await runCli(["sessions", "list", "--username", "maryo", ...store]);
      expect(list.stdout).toContain(session_id);
      expect(list.stdout).toContain("cli test");
      const revoke = await runCli(["sessions", "revoke", session_id, ...store]);
      expect(revoke.code, revoke.stderr).toBe(0);
      expect((await runCli(["sessions", "list", "--username", "maryo", ...store])).stdout).not.toContain(
        session_id,
      );

      const keys = await runCli(["keys", "list", ...store]);
      expect(keys.stdout).toMatch(/\tEdDSA\tactive\t/);
      expect(keys.stdout).toMatch(/\tEdDSA\tnext\t/);
      // The next key was published a moment ago: too early to sign without forcing.
      const early = await runCli(["keys", "rotate", ...store]);
      expect(early.code).toBe(2);
      expect(early.stderr).toContain("rotation is possible from");
      expect(early.stderr).toContain("prolong keys rotate --force");
      const rotated = await runCli(["keys", "rotate", "--force", ...store]);
      expect(rotated.stdout).toContain("signing key is now");
      expect((await runCli(["keys", "list", ...store])).stdout).toMatch(/\tEdDSA\tretired\t/);

      expect((await runCli(["users", "disable", "maryo", ...store])).code).toBe(0);
      expect((await runCli(["users", "disable", "nobody", ...store])).code).not.toBe(0);
    } finally {
      await server?.stop();
      server = null;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("seals a store's keys once keyEncryptionKey is set, and refuses its removal until `keys unseal`", async () => {
    const dir = mkdtempSync(join(tmpdir(), "prolong-kek-"));
    const path = join(dir, "p.db");
    const store = ["--store", `sqlite:${path}`];
    const kek = { env: { PROLONG_KEY_ENCRYPTION_KEY: "a key-encryption key from a vault" } };
    const storedKeys = async () => {
      const sqlite = openSqliteStore({ path });
      try {
        return await sqlite.keys.listKeys();
      } finally {
        await sqlite.close();
      }
    };
    try {
      expect((await runCli(["keys", "list", ...store])).code).toBe(0);
      const plain = await storedKeys();
      expect(plain.map((k) => JSON.parse(k.privateKey))).toEqual([
        expect.objectContaining({ d: expect.any(String) }),
        expect.objectContaining({ d: expect.any(String) }),
      ]);

      const listed = await runCli(["keys", "list", ...store], kek);
      expect(listed.code, listed.stderr).toBe(0);
      const sealed = await storedKeys();
      expect(sealed.map((k) => k.kid)).toEqual(plain.map((k) => k.kid));
      for (const key of sealed) {
        expect(key.privateKey).toMatch(/^enc:v1:/);
        expect(key.privateKey).not.toContain('"d"');
      }

      const refused = await runCli(["keys", "list", ...store]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain("2 stored signing keys are sealed with a key-encryption key");
      expect(refused.stderr).toContain("run `prolong keys unseal` with it still set, then remove it");
      expect((await runCli(["keys", "unseal", ...store])).stderr).toContain(
        "keys unseal: needs keyEncryptionKey",
      );

      const unsealed = await runCli(["keys", "unseal", ...store], kek);
      expect(unsealed.stdout).toContain("2 private keys now stored in plain text");
      expect((await storedKeys()).map((k) => k.privateKey)).toEqual(plain.map((k) => k.privateKey));
      expect((await runCli(["keys", "list", ...store])).code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it("looks up subjects, sessions and events on the store", async () => {
    const dir = mkdtempSync(join(tmpdir(), "prolong-cli-"));
    const path = join(dir, "p.db");
    const store = ["--store", `sqlite:${path}`];
    const cli = (...args: string[]) => runCli([...args, ...store]);
    try {
      expect((await cli("users", "add", "maryo", "--password", "correct horse battery")).code).toBe(0);
      server = await startServerProcess(store);
      const signIn = async (client_id: string) => {
        const response = await fetch(`${server?.url}/login`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ username: "maryo", password: "correct horse battery", client_id }),
        });
        expect(response.status).toBe(200);
        return ((await response.json()) as { session_id: string }).session_id;
      };
      const onWeb = await signIn("web");
      const onNative = await signIn("native");
      await server.stop();
      server = null;

      // A backend with its own login starts a session for its user "user-42" over the same
      // file: a subject without an account.
      const sqlite = openSqliteStore({ path });
      const engine = await SessionEngine.create({ store: sqlite, issuer: "http://127.0.0.1" });
      await sqlite.sessions.ensureSubject("user-42", engine.now());
      const forUser42 = await engine.startSessionForSubject({
        subjectId: "user-42",
        clientId: "native",
        deviceName: "phone",
      });
      await sqlite.close();

      const shown = await cli("subjects", "show", "user-42");
      expect(shown.code).toBe(0);
      expect(shown.stdout).toContain("id\tuser-42\n");
      expect(shown.stdout).toContain("username\t-\n");
      expect(shown.stdout).toContain("state\tactive\n");
      const found = await cli("subjects", "find", "--username", "MARYO");
      expect(found.stdout).toContain("username\tmaryo\n");
      const maryo = /^id\t(\S+)$/m.exec(found.stdout)?.[1] as string;

      const user42 = await cli("sessions", "list", "--subject", "user-42");
      expect(user42.stdout).toMatch(new RegExp(`^${forUser42.sessionId}\tuser-42\tnative\tphone\tlive\t`));
      const listed = await cli("sessions", "list", "--username", "maryo");
      expect(
        listed.stdout
          .trim()
          .split("\n")
          .map((line) => line.split("\t")[0]),
      ).toEqual([onNative, onWeb]);
      expect((await cli("sessions", "list", "--username", "maryo", "--client", "web")).stdout).toMatch(
        new RegExp(`^${onWeb}\t${maryo}\tweb\t`),
      );
      // A page at a time: the cursor to read on goes to stderr.
      const first = await cli("sessions", "list", "--username", "maryo", "--limit", "1");
      expect(first.stdout.trim().split("\n")).toHaveLength(1);
      const after = /--after (\S+)/.exec(first.stderr)?.[1] as string;
      const second = await cli("sessions", "list", "--username", "maryo", "--limit", "1", "--after", after);
      expect(second.stdout).toContain(onWeb);
      expect(second.stderr).toBe("");

      expect((await cli("sessions", "revoke", onWeb)).code).toBe(0);
      expect((await cli("sessions", "list", "--username", "maryo")).stdout).not.toContain(onWeb);
      expect((await cli("sessions", "list", "--username", "maryo", "--all")).stdout).toMatch(
        new RegExp(`^${onWeb}\t.*\trevoked\t`, "m"),
      );

      const revoked = await cli("events", "list", "--username", "maryo", "--type", "session_revoked");
      expect(revoked.stdout.trim().split("\n")).toEqual([
        expect.stringMatching(new RegExp(`\tsession_revoked\t${maryo}\t${onWeb}\t\\{"reason":"admin"\\}$`)),
      ]);
      expect((await cli("events", "list", "--subject", "user-42")).stdout).toContain(
        `\tsigned_in\tuser-42\t${forUser42.sessionId}\t`,
      );
      const newest = await cli("events", "list", "--limit", "1");
      expect(newest.stdout).toContain("\tsession_revoked\t");
      expect(newest.stderr).toMatch(/--after \S+/);
    } finally {
      await server?.stop();
      server = null;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // A wrong argument, or a name the store does not hold: an empty store will do, and each
  // case is a test of its own, one process each.
  it.each([
    [["subjects", "show", "nobody"], 'no subject "nobody"'],
    [["subjects", "find"], "--username"],
    [["subjects", "find", "--username", "nobody"], 'no subject with username "nobody"'],
    [["sessions", "list"], "--subject ID or --username NAME"],
    [["sessions", "list", "maryo"], "too many arguments"],
    [["sessions", "list", "--username", "maryo", "--limit", "0"], "--limit"],
    [["sessions", "list", "--subject", "user-42", "--username", "maryo"], "cannot be used with"],
    [["events", "list", "--type", "signed-in"], "--type"],
    [["events", "list", "--after", "nonsense"], "after: not a page cursor"],
  ])("exits non-zero on `%s`, naming the argument", async (args, message) => {
    const result = await runCli([...args, "--store", "memory:"]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(message);
  });
});

#!/usr/bin/env node
import cluster from "node:cluster";
import { readFileSync } from "node:fs";
import type { SessionEngine, SubjectDetails } from "@prolong/core";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import type { ServerConfig } from "./config.js";

// Each command imports what it uses when it runs: the settings schema, the store it names
// (one driver, not all four), the HTTP server only for `serve`. Loading everything up
// front cost every call, `--version` included, about 0.4 s.

/** Settings from the file, the environment and the flags, later ones winning. */
async function loadConfig(flags: Record<string, unknown>): Promise<ServerConfig> {
  const { fromEnvironment, fromFile, resolveConfig } = await import("./config.js");
  const { config: file, ...rest } = flags;
  const fromFlags = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
  return resolveConfig(file ? fromFile(String(file)) : {}, fromEnvironment(process.env), fromFlags);
}

/** Runs `body` with an engine over the configured store, closing the store afterwards. */
async function withEngine(flags: Record<string, unknown>, body: (engine: SessionEngine) => Promise<void>) {
  const config = await loadConfig(flags);
  const { openStore } = await import("./store.js");
  const { engineFor } = await import("./server-core.js");
  const store = await openStore(config.store);
  try {
    await body(await engineFor(config, store));
  } finally {
    await store.close();
  }
}

async function accountByName(engine: SessionEngine, name: string) {
  const account = await engine.findAccountByName(name);
  if (!account) throw new CliError(`no user "${name}"`);
  return account;
}

class CliError extends Error {}

/** A whole number of seconds, 1 or more, as an option's value. */
function wholeSeconds(value: string): number {
  if (!/^\d{1,9}$/.test(value) || Number(value) < 1) {
    throw new InvalidArgumentError("must be a whole number of seconds, 1 or more");
  }
  return Number(value);
}

/** The subject named by `--subject ID` or `--username NAME`, or a CliError saying which is unknown. */
async function subjectOf(engine: SessionEngine, flags: { subject?: string; username?: string }) {
  if (flags.username !== undefined) {
    const found = await engine.findSubjectByUsername(flags.username);
    if (!found) throw new CliError(`no subject with username "${flags.username}"`);
    return found;
  }
  const id = flags.subject as string;
  const found = await engine.describeSubject(id);
  if (!found) throw new CliError(`no subject "${id}"`);
  return found;
}

function printSubject({ subject, account }: SubjectDetails): void {
  const iso = (ms: number | null) => (ms === null ? "-" : new Date(ms).toISOString());
  const lines = [
    ["id", subject.id],
    ["username", account?.username ?? "-"],
    ["state", subject.disabled ? "disabled" : "active"],
    ["token version", String(subject.tokenVersion)],
    ["re-auth required since", iso(subject.reauthRequiredAt)],
    ["claims", JSON.stringify(subject.claims)],
    ["created", iso(subject.createdAt)],
  ];
  for (const [name, value] of lines) console.log(`${name}\t${value}`);
}

/** Tells how to read on when a listing stopped at its limit. */
function printNext(next: string | null): void {
  if (next !== null) console.error(`prolong: more to list: add --after ${next}`);
}

const limitOption = () =>
  new Option("--limit <n>", "at most this many, 1 to 500 (default 100)").argParser((value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < 1 || n > 500)
      throw new InvalidArgumentError("must be a whole number from 1 to 500");
    return n;
  });
const afterOption = () =>
  new Option("--after <cursor>", "read on after a previous listing (it prints the cursor)");
const subjectOption = () => new Option("--subject <id>", "the subject's id (its sub)").conflicts("username");
const usernameOption = () => new Option("--username <name>", "the username of the subject's account");

const storeOption = () =>
  new Option(
    "--store <spec>",
    "sqlite:PATH, postgres://…, redis://…, or memory: (lost on exit); default sqlite:./data/prolong.db",
  );
const configOption = () => new Option("--config <file>", "JSON configuration file");

/** The version of this package, as published (dist/cli.js sits one level below package.json). */
const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
  version: string;
};

const program = new Command("prolong")
  .description("Sessions that keep users signed in with short-lived JWTs and rotating refresh tokens.")
  .version(version, "-V, --version", "print the version of prolong")
  .exitOverride()
  .showHelpAfterError();

program
  .command("serve")
  .description("run the HTTP server")
  .option("--port <n>", "port to listen on (default 3000)", (v) => Number(v))
  .option("--host <host>", "interface to bind (default localhost)")
  .option("--issuer <url>", "public URL of this server (default http://localhost:PORT)")
  .option("--demo", "create a demo user and serve the demo page and its API (also PROLONG_DEMO=1)")
  .option(
    "--workers <n>",
    "processes serving the port (one per core is a good start), 1 to 64 (default 1); not with a memory: store",
    (v) => Number(v),
  )
  .addOption(storeOption())
  .addOption(configOption())
  .action(async (flags) => {
    const config = await loadConfig(flags);
    // A worker runs this same command (node:cluster forks the CLI again).
    const { serveAsWorker, superviseWorkers } = await import("./workers.js");
    if (cluster.isWorker) return serveAsWorker(config);
    if (config.workers > 1) process.exit(await superviseWorkers(config));
    const { closeOnSignals, startServer } = await import("./serve.js");
    const { app } = await startServer(config);
    closeOnSignals(app, "force");
  });

program
  .command("migrate")
  .description("bring the store's schema up to this version of prolong (run it before starting new servers)")
  .addOption(storeOption())
  .addOption(configOption())
  .action(async (flags) => {
    const { migrateStore } = await import("./store.js");
    console.log(await migrateStore((await loadConfig(flags)).store));
  });

const users = program.command("users").description("manage users");
users
  .command("add <name>")
  .description("create a user")
  .option("--password <pw>", "password (a random one is generated and printed when omitted)")
  .addOption(storeOption())
  .addOption(configOption())
  .action(async (name: string, flags) => {
    const { password, ...rest } = flags;
    await withEngine(rest, async (engine) => {
      const { randomBytes } = await import("node:crypto");
      const pw = password ?? randomBytes(12).toString("base64url");
      const { account } = await engine.createAccount({ username: name, password: pw });
      console.log(
        `created user ${account.username} (${account.subjectId})${password ? "" : ` with password ${pw}`}`,
      );
    });
  });
users
  .command("disable <name>")
  .description("disable a user and end their sessions")
  .addOption(storeOption())
  .addOption(configOption())
  .action(async (name: string, flags) => {
    await withEngine(flags, async (engine) => {
      const account = await accountByName(engine, name);
      await engine.disableSubject(account.subjectId);
      console.log(`disabled ${account.username}`);
    });
  });
users
  .command("list")
  .description("list users")
  .addOption(storeOption())
  .addOption(configOption())
  .action(async (flags) => {
    await withEngine(flags, async (engine) => {
      for (const { account, subject } of await engine.listAccounts({ limit: 1000 })) {
        console.log(`${account.username}\t${subject.id}\t${subject.disabled ? "disabled" : "active"}`);
      }
    });
  });

const subjects = program
  .command("subjects")
  .description("look up subjects: the users sessions belong to, with or without an account");
subjects
  .command("show <id>")
  .description("show a subject's standing and its account's username, if any")
  // Ids and kids are base64url, so one in 32 starts with "-": read it as the argument,
  // not as an unknown option.
  .allowUnknownOption()
  .addOption(storeOption())
  .addOption(configOption())
  .action(async (id: string, flags) => {
    await withEngine(flags, async (engine) => printSubject(await subjectOf(engine, { subject: id })));
  });
subjects
  .command("find")
  .description("find the subject whose account has a username")
  .addOption(usernameOption().makeOptionMandatory())
  .addOption(storeOption())
  .addOption(configOption())
  .action(async (flags) => {
    const { username, ...rest } = flags;
    await withEngine(rest, async (engine) => printSubject(await subjectOf(engine, { username })));
  });

const sessions = program.command("sessions").description("inspect and revoke sessions");
sessions
  .command("list")
  .description("list a subject's sessions, newest first: id, subject, client, device, state, last activity")
  .addOption(subjectOption())
  .addOption(usernameOption())
  .option("--client <id>", "only sessions of this client")
  .option("--all", "ended sessions too (revoked or expired, until purged)")
  .addOption(limitOption())
  .addOption(afterOption())
  .addOption(storeOption())
  .addOption(configOption())
  .action(async (flags) => {
    const { subject, username, client, all, limit, after, ...rest } = flags;
    if (subject === undefined && username === undefined)
      throw new CliError("sessions list: name the subject with --subject ID or --username NAME");
    await withEngine(rest, async (engine) => {
      const owner = await subjectOf(engine, { subject, username });
      const page = await engine.findSessions({
        subjectId: owner.subject.id,
        state: all ? "all" : "live",
        limit: limit ?? 100,
        ...(client === undefined ? {} : { clientId: client }),
        ...(after === undefined ? {} : { after }),
      });
      const now = engine.now();
      const { sessionState } = await import("@prolong/core");
      for (const s of page.sessions) {
        const seen = new Date(s.lastActiveAt).toISOString();
        console.log(
          `${s.id}\t${s.subjectId}\t${s.clientId}\t${s.deviceName ?? "-"}\t${sessionState(s, now)}\tlast active ${seen}`,
        );
      }
      printNext(page.next);
    });
  });
sessions
  .command("revoke <id>")
  .description("revoke a session")
  // Ids and kids are base64url, so one in 32 starts with "-": read it as the argument,
  // not as an unknown option.
  .allowUnknownOption()
  .addOption(storeOption())
  .addOption(configOption())
  .action(async (id: string, flags) => {
    await withEngine(flags, async (engine) => {
      await engine.revokeSession(null, id, "admin");
      console.log(`revoked ${id}`);
    });
  });

sessions
  .command("impersonate <subject>")
  .description(
    "start an administrator's session as a user: prints its tokens as JSON; they carry act.sub = the actor, and the session ends after --ttl seconds (at most impersonation.maxTtlSeconds)",
  )
  .requiredOption("--actor <id>", "the administrator's own subject id (the act claim)")
  .requiredOption("--ttl <seconds>", "how long the session lasts", wholeSeconds)
  .option("--client <id>", "a client whose refresh token travels in the body (default native)", "native")
  .option("--device-name <name>", "the name the user sees in their session list")
  .allowUnknownOption()
  .addOption(storeOption())
  .addOption(configOption())
  .action(async (subject: string, flags) => {
    const { actor, ttl, client, deviceName, ...rest } = flags;
    await withEngine(rest, async (engine) => {
      const tokens = await engine.impersonate({
        subjectId: subject,
        actor,
        ttlSeconds: ttl,
        clientId: client,
        deviceName: deviceName ?? null,
      });
      const answer = {
        session_id: tokens.sessionId,
        access_token: tokens.accessToken,
        token_type: tokens.tokenType,
        expires_in: tokens.expiresIn,
        refresh_token: tokens.refreshToken,
        session_expires_at:
          tokens.session.absoluteExpiresAt === null
            ? null
            : new Date(tokens.session.absoluteExpiresAt).toISOString(),
      };
      console.log(JSON.stringify(answer, null, 2));
    });
  });

const eventType = new Option("--type <type>", "only events of this type");
const events = program
  .command("events")
  .description("read the security-event log")
  // The types are the engine's; it is loaded here, before `list` parses its options or
  // prints its help, rather than by every command.
  .hook("preSubcommand", async () => {
    eventType.choices((await import("@prolong/core")).SECURITY_EVENT_TYPES);
  });
events
  .command("list")
  .description("list security events, newest first: time, type, subject, session, details")
  .addOption(subjectOption())
  .addOption(usernameOption())
  .addOption(eventType)
  .option("--session <id>", "only events of this session")
  .addOption(limitOption())
  .addOption(afterOption())
  .addOption(storeOption())
  .addOption(configOption())
  .action(async (flags) => {
    const { subject, username, type, session, limit, after, ...rest } = flags;
    await withEngine(rest, async (engine) => {
      const named = subject !== undefined || username !== undefined;
      const subjectId = named ? (await subjectOf(engine, { subject, username })).subject.id : undefined;
      const page = await engine.listEvents({
        limit: limit ?? 100,
        ...(subjectId === undefined ? {} : { subjectId }),
        ...(type === undefined ? {} : { type }),
        ...(session === undefined ? {} : { sessionId: session }),
        ...(after === undefined ? {} : { after }),
      });
      for (const e of page.events) {
        console.log(
          `${new Date(e.at).toISOString()}\t${e.type}\t${e.subjectId ?? "-"}\t${e.sessionId ?? "-"}\t${JSON.stringify(e.detail)}`,
        );
      }
      printNext(page.next);
    });
  });

const secrets = program.command("secrets").description("read credentials kept in the store");
secrets
  .command("resource")
  .description("print the resource-server secret (introspection, revocation feed) to stdout")
  .addOption(storeOption())
  .addOption(configOption())
  .action(async (flags) => {
    const config = await loadConfig(flags);
    if (config.resourceSecret) {
      process.stdout.write(`${config.resourceSecret}\n`);
      return;
    }
    const { resourceSecretOf } = await import("./server-core.js");
    await withEngine(flags, async (engine) => {
      process.stdout.write(`${await resourceSecretOf(config, engine)}\n`);
    });
  });

const keys = program.command("keys").description("manage signing keys");
keys
  .command("rotate")
  .description("let the published next key sign; the old one verifies until its tokens expire")
  .option("--force", "rotate even if the next key is not published long enough (a compromised key)")
  .addOption(storeOption())
  .addOption(configOption())
  .action(async (flags) => {
    const { force, ...rest } = flags;
    const { isProlongError } = await import("@prolong/core");
    await withEngine(rest, async (engine) => {
      try {
        const key = await engine.rotateKeys({ force: force === true });
        const next = engine.listKeys().next;
        console.log(`signing key is now ${key.kid} (${key.alg}); next key ${next?.kid ?? "-"}`);
      } catch (error) {
        if (isProlongError(error, "rotation_too_early"))
          throw new CliError(`${error.message} To rotate now anyway: prolong keys rotate --force`);
        throw error;
      }
    });
  });
keys
  .command("list")
  .description("list the next, active and retired keys")
  .addOption(storeOption())
  .addOption(configOption())
  .action(async (flags) => {
    await withEngine(flags, async (engine) => {
      const iso = (ms: number) => new Date(ms).toISOString();
      const listing = engine.listKeys();
      for (const k of listing.keys) {
        const since =
          k.state === "next"
            ? k.createdAt
            : k.state === "active"
              ? (k.activatedAt ?? k.createdAt)
              : k.retiredAt;
        console.log(`${k.kid}\t${k.alg}\t${k.state}\tsince ${iso(since ?? k.createdAt)}`);
      }
      if (listing.rotationPossibleAt !== null)
        console.log(`next rotation possible from ${iso(listing.rotationPossibleAt)}`);
    });
  });
keys
  .command("unseal")
  .description(
    "store the private keys in plain text again, so keyEncryptionKey can be removed (run it with the key still set, servers stopped)",
  )
  .addOption(storeOption())
  .addOption(configOption())
  .action(async (flags) => {
    const config = await loadConfig(flags);
    if (!config.keyEncryptionKey)
      throw new CliError(
        "keys unseal: needs keyEncryptionKey (PROLONG_KEY_ENCRYPTION_KEY), the key they are sealed with",
      );
    await withEngine(flags, async (engine) => {
      const opened = await engine.keys.unseal();
      console.log(
        `${opened} private key${opened === 1 ? "" : "s"} now stored in plain text; remove keyEncryptionKey before the servers start again, or they seal them again`,
      );
    });
  });
keys
  .command("export <kid>")
  .description("print the JWK a verifier configured with keys up front needs (HS256: the shared secret)")
  // Ids and kids are base64url, so one in 32 starts with "-": read it as the argument,
  // not as an unknown option.
  .allowUnknownOption()
  .addOption(storeOption())
  .addOption(configOption())
  .action(async (kid: string, flags) => {
    await withEngine(flags, async (engine) => {
      const jwk = engine.keys.verificationJwk(kid);
      if (!jwk) throw new CliError(`no key "${kid}"`);
      if (jwk.kty === "oct") console.error("prolong: this is a secret: hand it to resource servers only");
      console.log(JSON.stringify(jwk));
    });
  });

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode;
  } else if (error instanceof CliError || (await import("@prolong/core")).isProlongError(error)) {
    console.error(`prolong: ${error.message}`);
    process.exitCode = 2;
  } else {
    console.error(`prolong: unexpected error: ${(error as Error).message}`);
    process.exitCode = 1;
  }
  // A worker's channel to its primary would keep it alive: it exits, so the primary sees it fail.
  if (cluster.isWorker) process.exit();
}

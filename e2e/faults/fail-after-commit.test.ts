import Database from "better-sqlite3";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { backends } from "../backends.js";
import {
  type Deployment,
  deploy,
  eventCount,
  generationOf,
  isActive,
  refresh,
  sessionsOf,
  sleep,
  startSessions,
  type Tokens,
} from "./deployment.js";
import { recordFigures } from "./figures.js";

// The store fails between the two writes of a refresh: the rotation has committed, and the
// write after it (the session's rate-limit count, limits.ts) is refused. The client must
// still end up with a token that works. Were the answer an error, it would keep the rotated
// token and, once the store is back, present it again; after the grace window that is a
// reuse, and the session would end: a failure of ours signing someone out.
//
// The fault: a trigger in the real database refuses every write to the rate-limit table,
// with PostgreSQL's disk_full SQLSTATE (53100) or, in SQLite, an abort.

const SUBJECT = "fail-after-commit-user";
/** A short grace window, so "after it" comes within the test. */
const GRACE_SECONDS = 1;

/** A way to make one table of a running store refuse writes, and to undo it. */
interface WriteFault {
  install(): Promise<void>;
  remove(): Promise<void>;
}

function postgresFault(spec: string): WriteFault {
  const url = new URL(spec);
  const schema = url.searchParams.get("schema") ?? "public";
  url.searchParams.delete("schema");
  const sql = async (text: string) => {
    const client = new pg.Client({ connectionString: url.href });
    await client.connect();
    try {
      await client.query(text);
    } finally {
      await client.end();
    }
  };
  return {
    install: () =>
      sql(`
        CREATE FUNCTION "${schema}".refuse_write() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = '53100'; END $$;
        CREATE TRIGGER refuse_write BEFORE INSERT OR UPDATE ON "${schema}".rate_windows
          FOR EACH ROW EXECUTE FUNCTION "${schema}".refuse_write();`),
    remove: () =>
      sql(`DROP TRIGGER refuse_write ON "${schema}".rate_windows; DROP FUNCTION "${schema}".refuse_write();`),
  };
}

function sqliteFault(spec: string): WriteFault {
  const path = spec.slice("sqlite:".length);
  const exec = async (text: string) => {
    const db = new Database(path);
    try {
      db.exec(text);
    } finally {
      db.close();
    }
  };
  return {
    install: () =>
      exec(`
        CREATE TRIGGER refuse_insert BEFORE INSERT ON rate_windows BEGIN SELECT RAISE(ABORT, 'disk full'); END;
        CREATE TRIGGER refuse_update BEFORE UPDATE ON rate_windows BEGIN SELECT RAISE(ABORT, 'disk full'); END;`),
    remove: () => exec("DROP TRIGGER refuse_insert; DROP TRIGGER refuse_update;"),
  };
}

const faults: Record<string, (spec: string) => WriteFault> = {
  postgres: postgresFault,
  sqlite: sqliteFault,
};

let deployment: Deployment | undefined;
afterEach(async () => {
  await deployment?.close();
  deployment = undefined;
});

for (const backend of backends) {
  const fault = faults[backend.name];
  if (!fault) continue;
  describe(`${backend.name} refusing the write that follows a committed rotation`, {
    tags: backend.needs,
  }, () => {
    it("the client still ends up with a working token, and the session lives on", async () => {
      const store = await backend.store();
      deployment = await deploy(store, {
        profiles: { native: { graceWindow: GRACE_SECONDS } },
      });
      const server = await deployment.start();
      const [session] = (await startSessions(server.url, SUBJECT, 1)) as [Tokens];
      const refusal = fault(store.spec);

      await refusal.install();
      let held = session.refresh_token;
      let answer: number;
      try {
        const response = await refresh(server.url, held);
        answer = response.status;
        // The client keeps what it holds unless the answer gives it a new token.
        if (response.status === 200) held = ((await response.json()) as Tokens).refresh_token;
      } finally {
        await refusal.remove();
      }
      // Whatever the answer was, the rotation committed.
      expect(await isActive(server.url, session.refresh_token)).toBe(false);

      // The client goes on with the token it holds, after the grace window.
      await sleep(GRACE_SECONDS * 1000 + 300);
      const next = await refresh(server.url, held);
      expect(next.status, await next.clone().text()).toBe(200);
      expect(answer).toBe(200);
      const tokens = (await next.json()) as Tokens;
      expect(generationOf(tokens.refresh_token)).toBe(2);
      const sessions = await sessionsOf(server.url, SUBJECT);
      expect(sessions.map((s) => s.state)).toEqual(["live"]);
      expect(await eventCount(server.url, "reuse_detected")).toBe(0);
      recordFigures(`fail-after-commit-${backend.name}`, {
        store: backend.name,
        answerWhileTheCountFailed: answer,
        sessionsChecked: 1,
        sessionsLost: 0,
      });
    }, 60_000);
  });
}
